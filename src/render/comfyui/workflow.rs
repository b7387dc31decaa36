//! A ComfyUI workflow in API format (what "Save (API)" writes: an object keyed by node id, each
//! node `{"class_type", "inputs", "_meta"}`, links as `["node id", output index]`), the inputs
//! i2v fills in, and how many frames a model is asked for.

use std::path::Path;

use serde_json::{Map, Value};

use crate::config::{ComfyInputs, ComfyModel};

/// A loaded, checked workflow: every input i2v fills and the output node exist.
#[derive(Clone, Debug)]
pub struct Workflow {
    nodes: Map<String, Value>,
    inputs: Inputs,
    pub output_node: String,
    /// Frames come in steps of this (`4k+1` for Wan, `8k+1` for LTX-Video); 1 = any count.
    pub frame_step: u32,
}

/// `"node.input"` of each value i2v fills; `None` where the workflow keeps its own value.
#[derive(Clone, Debug, Default, PartialEq)]
struct Inputs {
    image: Option<InputRef>,
    last_image: Option<InputRef>,
    prompt: Option<InputRef>,
    negative_prompt: Option<InputRef>,
    width: Option<InputRef>,
    height: Option<InputRef>,
    frames: Option<InputRef>,
    fps: Option<InputRef>,
    seed: Option<InputRef>,
}

#[derive(Clone, Debug, PartialEq)]
struct InputRef {
    node: String,
    input: String,
}

/// What one job fills in.
#[derive(Clone, Debug, PartialEq)]
pub struct Filled<'a> {
    /// Names ComfyUI gave the uploaded images (`/upload/image`).
    pub image: &'a str,
    pub last_image: Option<&'a str>,
    pub prompt: &'a str,
    /// Empty keeps the workflow's own negative prompt.
    pub negative_prompt: &'a str,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    pub fps: u32,
    pub seed: u64,
}

/// Latent-video nodes that take `4k+1` frames (their `length` input steps by 4) and those that
/// take `8k+1` (LTX-Video). Any other node named by `inputs.frames` gets `seconds x fps`.
const FOUR_K_PLUS_ONE: &[&str] = &[
    "WanImageToVideo",
    "Wan22ImageToVideoLatent",
    "WanFirstLastFrameToVideo",
    "WanFunInpaintToVideo",
    "WanVaceToVideo",
    "EmptyHunyuanLatentVideo",
    "HunyuanImageToVideo",
    "CosmosImageToVideoLatent",
];
const EIGHT_K_PLUS_ONE: &[&str] = &["LTXVImgToVideo", "EmptyLTXVLatentVideo"];

impl Workflow {
    /// Reads `path` (the model's `workflow`) and checks it against `model`'s inputs; errors name
    /// the config field (`field` is `comfyui.models[N]`).
    pub fn load(path: &Path, model: &ComfyModel, field: &str) -> Result<Workflow, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{field}.workflow: cannot read {}: {e}", path.display()))?;
        Workflow::parse(&text, model, field)
            .map_err(|e| format!("{e} (workflow {})", path.display()))
    }

    pub fn parse(text: &str, model: &ComfyModel, field: &str) -> Result<Workflow, String> {
        let nodes: Map<String, Value> = match serde_json::from_str(text) {
            Ok(Value::Object(nodes)) => nodes,
            Ok(_) => return Err(format!("{field}.workflow: not a JSON object of nodes")),
            Err(e) => return Err(format!("{field}.workflow: not JSON: {e}")),
        };
        if nodes.contains_key("nodes") && nodes.contains_key("links") {
            return Err(format!(
                "{field}.workflow: this is ComfyUI's UI format; export the workflow with \"Save (API)\""
            ));
        }
        for (id, node) in &nodes {
            let ok = node.get("class_type").is_some_and(Value::is_string)
                && node.get("inputs").is_some_and(Value::is_object);
            if !ok {
                return Err(format!(
                    "{field}.workflow: node {id:?} has no \"class_type\" and \"inputs\" (API format expected)"
                ));
            }
        }
        if !nodes.contains_key(&model.output_node) {
            return Err(format!(
                "{field}.output_node: node {:?} is not in the workflow",
                model.output_node
            ));
        }
        let inputs = Inputs::resolve(&model.inputs, &nodes, field)?;
        let frame_step = match &inputs.frames {
            Some(at) => frame_step_of(class_type(&nodes, &at.node)),
            None => 1,
        };
        Ok(Workflow {
            nodes,
            inputs,
            output_node: model.output_node.clone(),
            frame_step,
        })
    }

    /// Frames to ask for: `seconds x fps`, or for a `4k+1`/`8k+1` node the smallest such count
    /// that covers it (5 s at 16 fps: 81; at 24 fps on LTX-Video: 121).
    pub fn frames(&self, seconds: u32, fps: u32) -> u32 {
        let wanted = (seconds * fps).max(1);
        if self.frame_step <= 1 {
            return wanted;
        }
        let steps = (wanted - 1).div_ceil(self.frame_step);
        steps * self.frame_step + 1
    }

    pub fn has_last_image(&self) -> bool {
        self.inputs.last_image.is_some()
    }

    /// The graph to queue: the workflow with `values` in its inputs.
    pub fn fill(&self, values: &Filled<'_>) -> Value {
        let mut nodes = self.nodes.clone();
        let mut set = |at: &Option<InputRef>, value: Value| {
            if let Some(at) = at {
                if let Some(inputs) = nodes
                    .get_mut(&at.node)
                    .and_then(|n| n.get_mut("inputs"))
                    .and_then(Value::as_object_mut)
                {
                    inputs.insert(at.input.clone(), value);
                }
            }
        };
        let i = &self.inputs;
        set(&i.image, values.image.into());
        set(
            &i.last_image,
            values.last_image.unwrap_or(values.image).into(),
        );
        set(&i.prompt, values.prompt.into());
        if !values.negative_prompt.is_empty() {
            set(&i.negative_prompt, values.negative_prompt.into());
        }
        set(&i.width, values.width.into());
        set(&i.height, values.height.into());
        set(&i.frames, values.frames.into());
        set(&i.fps, values.fps.into());
        set(&i.seed, values.seed.into());
        Value::Object(nodes)
    }
}

impl Inputs {
    fn resolve(
        configured: &ComfyInputs,
        nodes: &Map<String, Value>,
        field: &str,
    ) -> Result<Inputs, String> {
        let mut inputs = Inputs::default();
        for (name, text) in configured.named() {
            let at = parse_ref(text, nodes, &format!("{field}.inputs.{name}"))?;
            let slot = match name {
                "image" => &mut inputs.image,
                "last_image" => &mut inputs.last_image,
                "prompt" => &mut inputs.prompt,
                "negative_prompt" => &mut inputs.negative_prompt,
                "width" => &mut inputs.width,
                "height" => &mut inputs.height,
                "frames" => &mut inputs.frames,
                "fps" => &mut inputs.fps,
                _ => &mut inputs.seed,
            };
            *slot = at;
        }
        if inputs.image.is_none() {
            return Err(format!(
                "{field}.inputs.image must name the workflow's image input (\"node id.input name\")"
            ));
        }
        Ok(inputs)
    }
}

/// `"52.image"` as node `52`, input `image`, checked against the workflow; empty is `None`.
fn parse_ref(
    text: &str,
    nodes: &Map<String, Value>,
    field: &str,
) -> Result<Option<InputRef>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let Some((node, input)) = text
        .split_once('.')
        .filter(|(n, i)| !n.is_empty() && !i.is_empty())
    else {
        return Err(format!(
            "{field}: {text:?} is not \"node id.input name\" (for example \"52.image\")"
        ));
    };
    let Some(found) = nodes.get(node) else {
        return Err(format!("{field}: node {node:?} is not in the workflow"));
    };
    let has_input = found
        .get("inputs")
        .and_then(Value::as_object)
        .is_some_and(|inputs| inputs.contains_key(input));
    if !has_input {
        return Err(format!(
            "{field}: node {node:?} ({}) has no input {input:?}",
            class_type(nodes, node)
        ));
    }
    if found["inputs"][input].is_array() {
        return Err(format!(
            "{field}: input {input:?} of node {node:?} is a link to another node, not a value i2v can set"
        ));
    }
    Ok(Some(InputRef {
        node: node.to_owned(),
        input: input.to_owned(),
    }))
}

fn class_type<'a>(nodes: &'a Map<String, Value>, node: &str) -> &'a str {
    nodes
        .get(node)
        .and_then(|n| n.get("class_type"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn frame_step_of(class_type: &str) -> u32 {
    if FOUR_K_PLUS_ONE.contains(&class_type) {
        4
    } else if EIGHT_K_PLUS_ONE.contains(&class_type) {
        8
    } else {
        1
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    pub(in crate::render::comfyui) fn model(inputs: ComfyInputs) -> ComfyModel {
        ComfyModel {
            name: "Wan2.2-I2V".into(),
            label: String::new(),
            provider: "wan".into(),
            workflow: "w.json".into(),
            output_node: "58".into(),
            resolutions: [("480p".to_string(), 4)].into(),
            durations: vec![5],
            fps: 16,
            supported_last_frame: false,
            timeout_secs: 60,
            inputs,
        }
    }

    fn wan_inputs() -> ComfyInputs {
        ComfyInputs {
            image: "52.image".into(),
            prompt: "6.text".into(),
            negative_prompt: "7.text".into(),
            width: "50.width".into(),
            height: "50.height".into(),
            frames: "50.length".into(),
            seed: "3.seed".into(),
            ..ComfyInputs::default()
        }
    }

    fn graph() -> String {
        json!({
            "3": {"class_type": "KSampler", "inputs": {"seed": 1, "model": ["37", 0]}},
            "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["38", 0]}},
            "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["38", 0]}},
            "50": {"class_type": "WanImageToVideo", "inputs": {"width": 832, "height": 480, "length": 81, "batch_size": 1, "start_image": ["52", 0]}},
            "52": {"class_type": "LoadImage", "inputs": {"image": "example.png"}},
            "58": {"class_type": "SaveVideo", "inputs": {"filename_prefix": "video/i2v", "format": "auto", "codec": "auto", "video": ["57", 0]}}
        })
        .to_string()
    }

    #[test]
    fn inputs_are_filled_and_everything_else_is_kept() {
        let wf = Workflow::parse(&graph(), &model(wan_inputs()), "comfyui.models[0]").unwrap();
        assert_eq!(wf.frame_step, 4);
        let filled = wf.fill(&Filled {
            image: "i2v-abc.png",
            last_image: None,
            prompt: "waves",
            negative_prompt: "",
            width: 1280,
            height: 704,
            frames: 81,
            fps: 16,
            seed: 7,
        });
        assert_eq!(filled["52"]["inputs"]["image"], "i2v-abc.png");
        assert_eq!(filled["6"]["inputs"]["text"], "waves");
        assert_eq!(
            filled["7"]["inputs"]["text"], "blurry",
            "empty keeps the workflow's own"
        );
        assert_eq!(filled["50"]["inputs"]["width"], 1280);
        assert_eq!(filled["50"]["inputs"]["length"], 81);
        assert_eq!(filled["50"]["inputs"]["start_image"], json!(["52", 0]));
        assert_eq!(filled["3"]["inputs"]["seed"], 7);
        assert_eq!(filled["58"]["inputs"]["filename_prefix"], "video/i2v");
    }

    #[test]
    fn frames_cover_the_length_in_the_models_steps() {
        let mut wf = Workflow::parse(&graph(), &model(wan_inputs()), "m").unwrap();
        assert_eq!(wf.frames(5, 16), 81);
        assert_eq!(wf.frames(10, 16), 161);
        assert_eq!(wf.frames(5, 15), 77, "75 frames need 4k+1 = 77");
        wf.frame_step = 8;
        assert_eq!(wf.frames(5, 24), 121);
        assert_eq!(wf.frames(5, 25), 129);
        wf.frame_step = 1;
        assert_eq!(wf.frames(5, 16), 80);
        assert_eq!(frame_step_of("LTXVImgToVideo"), 8);
        assert_eq!(frame_step_of("SVD_img2vid_Conditioning"), 1);
    }

    #[test]
    fn bad_configs_are_refused_naming_the_field() {
        let cases = [
            (
                ComfyInputs {
                    image: "99.image".into(),
                    ..wan_inputs()
                },
                "comfyui.models[0].inputs.image: node \"99\" is not in the workflow",
            ),
            (
                ComfyInputs {
                    prompt: "6.txt".into(),
                    ..wan_inputs()
                },
                "comfyui.models[0].inputs.prompt: node \"6\" (CLIPTextEncode) has no input \"txt\"",
            ),
            (
                ComfyInputs {
                    seed: "3".into(),
                    ..wan_inputs()
                },
                "comfyui.models[0].inputs.seed: \"3\" is not \"node id.input name\"",
            ),
            (
                ComfyInputs {
                    width: "50.start_image".into(),
                    ..wan_inputs()
                },
                "comfyui.models[0].inputs.width: input \"start_image\" of node \"50\" is a link",
            ),
            (
                ComfyInputs {
                    image: String::new(),
                    ..wan_inputs()
                },
                "comfyui.models[0].inputs.image must name",
            ),
        ];
        for (inputs, expected) in cases {
            let err = Workflow::parse(&graph(), &model(inputs), "comfyui.models[0]").unwrap_err();
            assert!(err.starts_with(expected), "{err}");
        }
        let mut m = model(wan_inputs());
        m.output_node = "59".into();
        let err = Workflow::parse(&graph(), &m, "comfyui.models[0]").unwrap_err();
        assert_eq!(
            err,
            "comfyui.models[0].output_node: node \"59\" is not in the workflow"
        );
        let ui = json!({"nodes": [], "links": []}).to_string();
        let err = Workflow::parse(&ui, &model(wan_inputs()), "m").unwrap_err();
        assert!(err.contains("Save (API)"), "{err}");
        let err =
            Workflow::load(Path::new("/nonexistent/w.json"), &m, "comfyui.models[0]").unwrap_err();
        assert!(
            err.starts_with("comfyui.models[0].workflow: cannot read /nonexistent/w.json"),
            "{err}"
        );
    }
}
