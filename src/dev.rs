//! `i2v dev`: the server set up for a first try on one machine. Private URLs are allowed, the
//! admin API is on with a generated token, a demo account exists, a sample image is served from
//! a second loopback port, and everything a client needs is written to `<data-dir>/dev.env` and
//! printed with curl lines that work as they are. `serve` keeps its safe defaults.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::ExposeSecret;

use crate::config::Config;
use crate::App;

/// Where `i2v dev` keeps its state unless `--data-dir` says otherwise.
pub const DEFAULT_DATA_DIR: &str = "i2v-dev";
/// Credits of the demo account: enough for hundreds of videos.
const DEMO_CREDITS: i64 = 100_000;
const ENV_FILE: &str = "dev.env";

/// What a client needs, as written to `dev.env`.
#[derive(Debug, Clone, PartialEq)]
pub struct DevEnv {
    pub url: String,
    pub key: String,
    pub admin_token: String,
    pub image: String,
}

impl DevEnv {
    fn render(&self) -> String {
        format!(
            "# Written by `i2v dev` at every start; `source` it in the shell you run curl from.\n\
             export I2V_DEV_URL={}\nexport I2V_DEV_KEY={}\nexport I2V_DEV_ADMIN_TOKEN={}\n\
             export I2V_DEV_IMAGE={}\n",
            self.url, self.key, self.admin_token, self.image
        )
    }

    /// Reads a `dev.env` written earlier; `None` when absent or not ours.
    fn parse(text: &str) -> Option<DevEnv> {
        let get = |name: &str| {
            text.lines()
                .filter_map(|l| l.strip_prefix("export "))
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_owned)
        };
        Some(DevEnv {
            url: get("I2V_DEV_URL")?,
            key: get("I2V_DEV_KEY")?,
            admin_token: get("I2V_DEV_ADMIN_TOKEN")?,
            image: get("I2V_DEV_IMAGE")?,
        })
    }
}

fn env_path(config: &Config) -> PathBuf {
    config.data_dir.join(ENV_FILE)
}

fn read_previous(path: &Path) -> Option<DevEnv> {
    DevEnv::parse(&std::fs::read_to_string(path).ok()?)
}

/// Applies the dev defaults to a loaded configuration: private URLs allowed, and an admin token
/// (the one from an earlier run, so scripts keep working across restarts, or a new one).
pub fn prepare(config: &mut Config) {
    config.allow_private_urls = true;
    if config.admin_token.is_none() {
        let earlier = read_previous(&env_path(config)).map(|e| e.admin_token);
        let token = earlier.unwrap_or_else(|| format!("dev-{}", crate::keys::new_client_secret()));
        config.admin_token = Some(token.into());
    }
}

/// The demo account's API key: the earlier run's while it still works, else a new account's.
async fn demo_key(app: &App, earlier: Option<&DevEnv>) -> anyhow::Result<String> {
    if let Some(previous) = earlier {
        if crate::service::auth::by_api_key(app, &previous.key)
            .await
            .is_ok()
        {
            return Ok(previous.key.clone());
        }
    }
    let issued = crate::service::accounts::create(app, "demo", DEMO_CREDITS)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the demo account: {e}"))?;
    Ok(issued.client_secret)
}

/// A 1280x720 test card: colour gradients under a grid, so camera motion is easy to see.
pub fn sample_png() -> Vec<u8> {
    let (w, h) = (1280u32, 720u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let line = x % 80 < 4 || y % 80 < 4;
        let grid = if line { 255 } else { 40 };
        image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, grid])
    });
    let mut out = Cursor::new(Vec::new());
    // Encoding an in-memory RGB image as PNG cannot fail.
    let _ = img.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

/// Sets up the demo account and the sample image, writes `dev.env` and prints how to use it.
pub async fn set_up(app: &App) -> anyhow::Result<DevEnv> {
    let path = env_path(&app.config);
    let earlier = read_previous(&path);
    let env = DevEnv {
        url: app.config.public_url(),
        key: demo_key(app, earlier.as_ref()).await?,
        admin_token: app
            .config
            .admin_token
            .as_ref()
            .map_or_else(String::new, |t| t.expose_secret().to_owned()),
        image: crate::api::sample_image::serve(sample_png().into()).await?,
    };
    write_private(&path, &env.render())
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("{}", instructions(&path));
    Ok(env)
}

/// Writes a file only its owner can read: it holds an API key and the admin token.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())
}

/// The lines `i2v dev` prints; the README's quick start is exactly these.
pub fn instructions(env_file: &Path) -> String {
    format!(
        "i2v dev is ready. In another terminal, from this directory:\n\n{}",
        CURL_LINES.replace("i2v-dev/dev.env", &env_file.display().to_string())
    )
}

/// Create a video from the sample image, wait for it, check the MP4, delete it. Kept in sync
/// with the README's quick start by `scripts/quickstart` (CI runs the README's copy).
pub const CURL_LINES: &str = r#"source i2v-dev/dev.env
curl -s "$I2V_DEV_URL/api/open/v4/image2Video/createBySourcePrompt" \
  -H "x-api-key: $I2V_DEV_KEY" -H 'content-type: application/json' \
  -d "{\"image_url\":\"$I2V_DEV_IMAGE\",\"prompt\":\"zoom in slowly\",\"negative_prompt\":\"\",\"resolution\":\"720p\",\"audio_type\":1,\"video_length\":5}" \
  | tee created.json
ID=$(grep -o '"_id":"[0-9a-f]*"' created.json | head -n 1 | cut -d '"' -f 4)
until curl -s "$I2V_DEV_URL/api/open/v4/image2Video/resultsByIds" \
    -H "x-api-key: $I2V_DEV_KEY" -H 'content-type: application/json' -d "{\"_ids\":\"$ID\"}" \
    | tee result.json | grep -q '"status":[34]'; do sleep 1; done
cat result.json
curl -s -o video.mp4 "$(grep -o '"video_url":"[^"]*"' result.json | cut -d '"' -f 4)"
ffprobe -v error -show_entries format=duration:stream=codec_name,width,height video.mp4
curl -s "$I2V_DEV_URL/api/open/v4/image2Video/delbyids" \
  -H "x-api-key: $I2V_DEV_KEY" -H 'content-type: application/json' -d "{\"_ids\":\"$ID\"}"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_quick_start_is_exactly_what_dev_prints() {
        let readme = include_str!("../README.md");
        let block = format!("<!-- quickstart: client -->\n```sh\n{CURL_LINES}```\n");
        assert!(
            readme.contains(&block),
            "README.md's quick start client block must be dev::CURL_LINES verbatim"
        );
    }

    #[test]
    fn dev_env_round_trips() {
        let env = DevEnv {
            url: "http://127.0.0.1:8080".into(),
            key: "k".repeat(32),
            admin_token: "dev-token".into(),
            image: "http://127.0.0.1:4000/sample.png".into(),
        };
        assert_eq!(DevEnv::parse(&env.render()), Some(env));
        assert_eq!(DevEnv::parse("export I2V_DEV_URL=x\n"), None);
    }

    #[test]
    fn the_sample_image_is_a_png() {
        let png = sample_png();
        assert!(png.starts_with(b"\x89PNG"));
        let decoded = image::load_from_memory(&png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (1280, 720));
    }

    #[test]
    fn instructions_name_the_env_file_actually_written() {
        let text = instructions(Path::new("/tmp/elsewhere/dev.env"));
        assert!(text.contains("source /tmp/elsewhere/dev.env"));
        assert!(!text.contains("source i2v-dev/dev.env"));
    }
}
