//! Where output files live, parsed from `blob_url`: a local directory, an S3 bucket (with an
//! optional key prefix) or memory. Parsing happens while the configuration is validated, so a
//! bad value stops start-up with a message instead of failing the first upload.

use std::path::PathBuf;

use object_store::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobLocation {
    /// Files under this absolute directory.
    Local(PathBuf),
    /// Objects in `bucket`, every key under `prefix` (none when empty). Credentials, region and
    /// endpoint come from the standard `AWS_*` environment variables.
    S3 { bucket: String, prefix: String },
    /// Lost when the process ends; for tests.
    Memory,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("blob_url {url:?}: {reason}")]
pub struct BadBlobUrl {
    url: String,
    reason: String,
}

const FORMS: &str = "expected file:///ABSOLUTE/DIR, s3://BUCKET[/PREFIX] or memory://";

impl BlobLocation {
    pub fn parse(raw: &str) -> Result<BlobLocation, BadBlobUrl> {
        let bad = |reason: &str| BadBlobUrl {
            url: crate::redact::redact_url_password(raw),
            reason: reason.to_owned(),
        };
        let url = url::Url::parse(raw).map_err(|e| bad(&format!("{e}; {FORMS}")))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("query strings and fragments are not allowed"));
        }
        if !url.username().is_empty() || url.password().is_some() || url.port().is_some() {
            return Err(bad(
                "no user, password or port in the URL: S3 credentials and endpoint come from the AWS_* environment variables",
            ));
        }
        match url.scheme() {
            "file" => {
                if url.host_str().is_some_and(|h| !h.is_empty()) {
                    return Err(bad(
                        "a file URL names a local directory: file:///ABSOLUTE/DIR",
                    ));
                }
                let dir = url
                    .to_file_path()
                    .map_err(|()| bad("not an absolute local path"))?;
                Ok(BlobLocation::Local(dir))
            }
            "s3" => {
                let bucket = url.host_str().unwrap_or("");
                if bucket.is_empty() {
                    return Err(bad("the bucket name is missing: s3://BUCKET[/PREFIX]"));
                }
                let prefix = url.path().trim_matches('/');
                Path::parse(prefix).map_err(|_| {
                    bad("the prefix must be plain path segments (no empty, '.' or '..' parts)")
                })?;
                Ok(BlobLocation::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.to_owned(),
                })
            }
            "memory" if url.host_str().unwrap_or("").is_empty() && url.path().is_empty() => {
                Ok(BlobLocation::Memory)
            }
            _ => Err(bad(FORMS)),
        }
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, BlobLocation::S3 { .. })
    }
}

impl std::fmt::Display for BlobLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobLocation::Local(dir) => write!(f, "{}", dir.display()),
            BlobLocation::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            BlobLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            BlobLocation::Memory => write!(f, "memory://"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(bucket: &str, prefix: &str) -> BlobLocation {
        BlobLocation::S3 {
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn the_three_forms_parse() {
        assert_eq!(
            BlobLocation::parse("file:///var/lib/i2v/blobs"),
            Ok(BlobLocation::Local("/var/lib/i2v/blobs".into()))
        );
        assert_eq!(BlobLocation::parse("s3://videos"), Ok(s3("videos", "")));
        assert_eq!(BlobLocation::parse("s3://videos/"), Ok(s3("videos", "")));
        assert_eq!(
            BlobLocation::parse("s3://videos/i2v/prod/"),
            Ok(s3("videos", "i2v/prod"))
        );
        assert_eq!(BlobLocation::parse("memory://"), Ok(BlobLocation::Memory));
    }

    #[test]
    fn everything_else_is_refused_with_a_reason() {
        for (raw, says) in [
            ("", "relative URL"),
            ("/var/lib/i2v", "relative URL"),
            ("blobs", "relative URL"),
            ("https://example.com/bucket", FORMS),
            ("gs://bucket", FORMS),
            ("memory://somewhere", FORMS),
            ("file://host/dir", "local directory"),
            ("s3://", "bucket name is missing"),
            ("s3:///prefix", "bucket name is missing"),
            ("s3://bucket/a//b", "plain path segments"),
            ("s3://bucket?region=eu", "query"),
            ("s3://bucket:9000/p", "no user, password or port"),
        ] {
            let err = BlobLocation::parse(raw).expect_err(raw).to_string();
            assert!(err.contains(says), "{raw}: {err}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_and_not_repeated() {
        let err = BlobLocation::parse("s3://AKIDEXAMPLE:s3cr3t@bucket/p")
            .unwrap_err()
            .to_string();
        assert!(err.contains("AWS_* environment variables"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}
