//! Faults an operator sets on an account (admin API): rules that make i2v misbehave on purpose,
//! for the Akool routes (`ApiEffect`) and for the account's callbacks (`WebhookEffect`).
//!
//! A set of rules is checked in order for each request (or callback); a rule *fires* when its
//! subject matches and its trigger fires (`next`: while its count lasts, counting down;
//! `probability`: a draw below it; neither: always). The first rule that fires applies; a rule
//! whose draw fails lets the next one be checked. Draws come from SplitMix64 over the set's seed
//! and a draw counter, so the state kept between requests is one integer and a seed gives the
//! same sequence of faults on every run and every version of i2v (a crate's generator may change
//! its stream between releases; this one is fixed by the algorithm).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The Akool operation names a rule may name (`route`), besides `*`.
pub const API_ROUTES: &[&str] = &[
    "getToken",
    "createBySourcePrompt",
    "createBatch",
    "resultsByIds",
    "delbyids",
    "effects",
    "modelList",
    "updateVideoAudio",
    "quotaInfo",
];

/// HTTP statuses an `http_status` effect may answer with.
pub const FAULT_HTTP_STATUSES: &[u16] = &[429, 500, 502, 503, 504];

/// The longest `delay_ms` a rule may ask for (10 minutes).
pub const MAX_DELAY_MS: u64 = 600_000;

/// At most this many rules per set.
pub const MAX_RULES: usize = 100;

/// A rule's subject when it applies to every request or callback.
pub const ANY: &str = "*";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSet {
    pub seed: u64,
    /// Draws taken so far: the next draw is number `draws`.
    pub draws: u64,
    pub rules: Vec<FaultRule>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// What the rule applies to: an operation name (API) or a status `2`/`3`/`4` (callbacks),
    /// or `*`.
    pub on: String,
    pub trigger: Trigger,
    /// The effect, as validated by `ApiEffect::parse` or `WebhookEffect::parse`.
    pub effect: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Always,
    Probability(f64),
    /// Fires this many more times.
    Next(u64),
}

impl FaultSet {
    /// The effect for one request or callback about `subject`, advancing counters and draws.
    pub fn take(&mut self, subject: &str) -> Option<Value> {
        for index in 0..self.rules.len() {
            let rule = &self.rules[index];
            if rule.on != ANY && rule.on != subject {
                continue;
            }
            let fires = match rule.trigger {
                Trigger::Always => true,
                Trigger::Next(0) => false,
                Trigger::Next(_) => true,
                Trigger::Probability(p) => {
                    let draw = unit_draw(self.seed, self.draws);
                    self.draws += 1;
                    draw < p
                }
            };
            if fires {
                let rule = &mut self.rules[index];
                if let Trigger::Next(left) = &mut rule.trigger {
                    *left -= 1;
                }
                return Some(rule.effect.clone());
            }
        }
        None
    }

    /// True when no rule can fire any more (every rule a spent `next`).
    pub fn spent(&self) -> bool {
        self.rules
            .iter()
            .all(|r| matches!(r.trigger, Trigger::Next(0)))
    }

    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).expect("a fault set always serializes")
    }

    pub fn parse_stored(stored: &str) -> Option<FaultSet> {
        serde_json::from_str(stored).ok()
    }

    /// The admin API's shape: `{"seed","rules":[{<subject_key>, "probability"|"next", "effect"}]}`,
    /// with each `next` showing what is left of it.
    pub fn to_wire(&self, subject_key: &str, subject_to_wire: impl Fn(&str) -> Value) -> Value {
        let rules = self
            .rules
            .iter()
            .map(|rule| {
                let mut out = Map::new();
                if rule.on != ANY || subject_key == "route" {
                    out.insert(subject_key.into(), subject_to_wire(&rule.on));
                }
                match rule.trigger {
                    Trigger::Always => {}
                    Trigger::Probability(p) => {
                        out.insert("probability".into(), p.into());
                    }
                    Trigger::Next(n) => {
                        out.insert("next".into(), n.into());
                    }
                }
                out.insert("effect".into(), rule.effect.clone());
                Value::Object(out)
            })
            .collect();
        serde_json::json!({ "seed": self.seed, "rules": Value::Array(rules) })
    }
}

/// Draw number `n` of the sequence `seed` gives: SplitMix64, mapped to [0, 1).
pub fn unit_draw(seed: u64, n: u64) -> f64 {
    let mut z = seed.wrapping_add(n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The top 53 bits make every double in [0, 1) that a uniform draw can give.
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Why a set of rules was refused; the message names the field.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FaultsError(pub String);

fn refuse<T>(msg: impl Into<String>) -> Result<T, FaultsError> {
    Err(FaultsError(msg.into()))
}

/// Parses an admin body `{"seed"?, "rules":[…]}`. `subject` reads a rule's own subject field
/// (`route` or `status`) into the stored form; `effect` validates an effect into its stored form.
/// Without a seed one is chosen at random (and shown by GET, so a run can be replayed).
pub fn parse_set(
    body: &Value,
    subject: impl Fn(&Map<String, Value>, usize) -> Result<String, FaultsError>,
    effect: impl Fn(&Value, usize) -> Result<Value, FaultsError>,
    allowed_keys: &[&str],
) -> Result<FaultSet, FaultsError> {
    let Some(object) = body.as_object() else {
        return refuse("body must be a JSON object {\"seed\", \"rules\"}");
    };
    if let Some(key) = object.keys().find(|k| *k != "seed" && *k != "rules") {
        return refuse(format!("unknown field {key:?}: expected seed, rules"));
    }
    let seed = match object.get("seed") {
        None | Some(Value::Null) => rand::random::<u64>() >> 11,
        Some(v) => match v.as_u64() {
            Some(seed) => seed,
            None => return refuse("seed must be a non-negative integer"),
        },
    };
    let Some(raw_rules) = object.get("rules").and_then(Value::as_array) else {
        return refuse("rules is required: an array of rules");
    };
    if raw_rules.len() > MAX_RULES {
        return refuse(format!("rules: at most {MAX_RULES} rules"));
    }
    let mut rules = Vec::with_capacity(raw_rules.len());
    for (i, raw) in raw_rules.iter().enumerate() {
        let Some(rule) = raw.as_object() else {
            return refuse(format!("rules[{i}] must be an object"));
        };
        if let Some(key) = rule.keys().find(|k| !allowed_keys.contains(&k.as_str())) {
            return refuse(format!(
                "rules[{i}]: unknown field {key:?}: expected {}",
                allowed_keys.join(", ")
            ));
        }
        let trigger = match (rule.get("probability"), rule.get("next")) {
            (Some(_), Some(_)) => {
                return refuse(format!("rules[{i}]: give probability or next, not both"))
            }
            (Some(p), None) => match p.as_f64() {
                Some(p) if (0.0..=1.0).contains(&p) => Trigger::Probability(p),
                _ => {
                    return refuse(format!(
                        "rules[{i}].probability must be a number from 0 to 1"
                    ))
                }
            },
            (None, Some(n)) => match n.as_u64() {
                Some(n) if n >= 1 => Trigger::Next(n),
                _ => return refuse(format!("rules[{i}].next must be an integer >= 1")),
            },
            (None, None) => Trigger::Always,
        };
        let Some(raw_effect) = rule.get("effect") else {
            return refuse(format!("rules[{i}].effect is required"));
        };
        rules.push(FaultRule {
            on: subject(rule, i)?,
            trigger,
            effect: effect(raw_effect, i)?,
        });
    }
    Ok(FaultSet {
        seed,
        draws: 0,
        rules,
    })
}

/// What a faulted Akool request gets instead of (or besides) its real answer.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiEffect {
    /// Answered `{code, msg}` (HTTP 200) without touching state.
    Code { code: i64, msg: Option<String> },
    /// Answered with this HTTP status, without touching state.
    HttpStatus {
        status: u16,
        retry_after_s: Option<u64>,
    },
    /// Applied at once; the answer is sent this much later.
    Delay { ms: u64 },
    /// The connection closes before the request is applied.
    DropBefore,
    /// The request is applied and committed, then the connection closes with no answer.
    DropAfter,
}

impl ApiEffect {
    /// Reads an effect object (`{"code"…}`, `{"http_status"…}`, `{"delay_ms"}`, `{"drop"}`).
    pub fn parse(raw: &Value) -> Result<ApiEffect, String> {
        let Some(object) = raw.as_object() else {
            return Err("effect must be an object: {\"code\"}, {\"http_status\"}, {\"delay_ms\"} or {\"drop\"}".into());
        };
        let only = |allowed: &[&str]| match object.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(key) => Err(format!(
                "effect: unexpected field {key:?} beside {}",
                allowed[0]
            )),
            None => Ok(()),
        };
        if let Some(code) = object.get("code") {
            only(&["code", "msg"])?;
            let code = code.as_i64().ok_or("effect.code must be an integer")?;
            if code == 1000 {
                return Err(
                    "effect.code cannot be 1000 (success): a fault answers an error".into(),
                );
            }
            let msg = match object.get("msg") {
                None | Some(Value::Null) => None,
                Some(Value::String(m)) => Some(m.clone()),
                Some(_) => return Err("effect.msg must be a string".into()),
            };
            return Ok(ApiEffect::Code { code, msg });
        }
        if let Some(status) = object.get("http_status") {
            only(&["http_status", "retry_after_s"])?;
            let status = status
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| FAULT_HTTP_STATUSES.contains(s))
                .ok_or("effect.http_status must be one of 429, 500, 502, 503, 504")?;
            let retry_after_s = match object.get("retry_after_s") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_u64()
                        .filter(|s| *s <= 86_400)
                        .ok_or("effect.retry_after_s must be an integer from 0 to 86400")?,
                ),
            };
            return Ok(ApiEffect::HttpStatus {
                status,
                retry_after_s,
            });
        }
        if let Some(ms) = object.get("delay_ms") {
            only(&["delay_ms"])?;
            let ms = ms
                .as_u64()
                .filter(|ms| (1..=MAX_DELAY_MS).contains(ms))
                .ok_or(format!(
                    "effect.delay_ms must be an integer from 1 to {MAX_DELAY_MS}"
                ))?;
            return Ok(ApiEffect::Delay { ms });
        }
        if let Some(drop) = object.get("drop") {
            only(&["drop"])?;
            return match drop.as_str() {
                Some("before") => Ok(ApiEffect::DropBefore),
                Some("after") => Ok(ApiEffect::DropAfter),
                _ => Err("effect.drop must be \"before\" or \"after\"".into()),
            };
        }
        Err("effect must have one of code, http_status, delay_ms, drop".into())
    }
}

/// What a faulted callback gets.
#[derive(Clone, Debug, PartialEq)]
pub enum WebhookEffect {
    /// Sent twice.
    Duplicate,
    /// A status-2 callback is held back until after the video's final one.
    Reorder,
    /// Sent this much later.
    Delay { ms: u64 },
    /// Sent with a signature that does not verify.
    BadSignature,
    /// Signed over a timestamp an hour old.
    StaleTimestamp,
    /// Never sent; the delivery log records it as dropped.
    Drop,
}

impl WebhookEffect {
    /// Reads `"duplicate"`, `"reorder"`, `"bad_signature"`, `"stale_timestamp"`, `"drop"` or
    /// `{"delay_ms": N}`.
    pub fn parse(raw: &Value) -> Result<WebhookEffect, String> {
        const EXPECTED: &str = "effect must be \"duplicate\", \"reorder\", \"bad_signature\", \"stale_timestamp\", \"drop\" or {\"delay_ms\": N}";
        match raw {
            Value::String(name) => match name.as_str() {
                "duplicate" => Ok(WebhookEffect::Duplicate),
                "reorder" => Ok(WebhookEffect::Reorder),
                "bad_signature" => Ok(WebhookEffect::BadSignature),
                "stale_timestamp" => Ok(WebhookEffect::StaleTimestamp),
                "drop" => Ok(WebhookEffect::Drop),
                _ => Err(EXPECTED.into()),
            },
            Value::Object(object) if object.len() == 1 && object.contains_key("delay_ms") => {
                let ms = object["delay_ms"]
                    .as_u64()
                    .filter(|ms| (1..=MAX_DELAY_MS).contains(ms))
                    .ok_or(format!(
                        "effect.delay_ms must be an integer from 1 to {MAX_DELAY_MS}"
                    ))?;
                Ok(WebhookEffect::Delay { ms })
            }
            _ => Err(EXPECTED.into()),
        }
    }
}

/// Parses `PUT /accounts/{uid}/faults`.
pub fn parse_api_faults(body: &Value) -> Result<FaultSet, FaultsError> {
    parse_set(
        body,
        |rule, i| match rule.get("route") {
            Some(Value::String(route)) if route == ANY || API_ROUTES.contains(&route.as_str()) => {
                Ok(route.clone())
            }
            Some(_) => refuse(format!(
                "rules[{i}].route must be * or one of {}",
                API_ROUTES.join(", ")
            )),
            None => refuse(format!(
                "rules[{i}].route is required (an operation name or *)"
            )),
        },
        |raw, i| {
            ApiEffect::parse(raw)
                .map(|_| raw.clone())
                .map_err(|e| FaultsError(format!("rules[{i}].{e}")))
        },
        &["route", "probability", "next", "effect"],
    )
}

/// Parses `PUT /accounts/{uid}/webhook-faults`; a rule may name the callback `status` (2, 3 or
/// 4) it applies to.
pub fn parse_webhook_faults(body: &Value) -> Result<FaultSet, FaultsError> {
    parse_set(
        body,
        |rule, i| match rule.get("status") {
            None | Some(Value::Null) => Ok(ANY.into()),
            Some(v) => match v.as_i64() {
                Some(s @ 2..=4) => Ok(s.to_string()),
                _ => refuse(format!("rules[{i}].status must be 2, 3 or 4")),
            },
        },
        |raw, i| {
            WebhookEffect::parse(raw)
                .map(|_| raw.clone())
                .map_err(|e| FaultsError(format!("rules[{i}].{e}")))
        },
        &["status", "probability", "next", "effect"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn api(body: Value) -> FaultSet {
        parse_api_faults(&body).expect("valid")
    }

    #[test]
    fn next_counts_down_and_then_lets_later_rules_fire() {
        let mut set = api(json!({"seed": 1, "rules": [
            {"route": "delbyids", "next": 2, "effect": {"drop": "after"}},
            {"route": "*", "effect": {"code": 2001}},
        ]}));
        assert_eq!(set.take("delbyids"), Some(json!({"drop": "after"})));
        assert_eq!(set.take("resultsByIds"), Some(json!({"code": 2001})));
        assert_eq!(set.take("delbyids"), Some(json!({"drop": "after"})));
        assert_eq!(set.take("delbyids"), Some(json!({"code": 2001})));
        assert_eq!(set.rules[0].trigger, Trigger::Next(0));
    }

    #[test]
    fn a_seed_repeats_its_sequence_and_another_seed_differs() {
        let rules = |seed| {
            api(json!({"seed": seed, "rules": [
                {"route": "resultsByIds", "probability": 0.5, "effect": {"http_status": 503}},
            ]}))
        };
        let run = |mut set: FaultSet| -> Vec<bool> {
            (0..64)
                .map(|_| set.take("resultsByIds").is_some())
                .collect()
        };
        assert_eq!(run(rules(42)), run(rules(42)));
        assert_ne!(run(rules(42)), run(rules(43)));
        let hits = run(rules(42)).iter().filter(|h| **h).count();
        assert!((16..=48).contains(&hits), "about half fire: {hits}");
    }

    #[test]
    fn only_rules_for_the_subject_draw() {
        let mut set = api(json!({"seed": 7, "rules": [
            {"route": "delbyids", "probability": 0.5, "effect": {"code": 2001}},
        ]}));
        set.take("resultsByIds");
        assert_eq!(set.draws, 0);
        set.take("delbyids");
        assert_eq!(set.draws, 1);
    }

    #[test]
    fn draws_are_uniform_in_the_unit_interval() {
        let draws: Vec<f64> = (0..10_000).map(|n| unit_draw(42, n)).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.48..0.52).contains(&mean), "{mean}");
    }

    #[test]
    fn the_stored_form_reads_back() {
        let mut set = api(json!({"seed": 3, "rules": [
            {"route": "*", "next": 1, "effect": {"delay_ms": 5}},
        ]}));
        set.take("quotaInfo");
        assert_eq!(FaultSet::parse_stored(&set.to_stored()), Some(set));
    }

    #[test]
    fn bad_rules_are_refused_with_the_field_named() {
        let refused = |body: Value| parse_api_faults(&body).unwrap_err().0;
        assert!(
            refused(json!({"rules": [{"route": "nope", "effect": {"code": 1}}]}))
                .contains("rules[0].route")
        );
        assert!(
            refused(json!({"rules": [{"route": "*", "next": 0, "effect": {"code": 1}}]}))
                .contains("next")
        );
        assert!(refused(
            json!({"rules": [{"route": "*", "probability": 1.5, "effect": {"code": 1}}]})
        )
        .contains("probability"));
        assert!(refused(
            json!({"rules": [{"route": "*", "probability": 0.5, "next": 1, "effect": {"code": 1}}]})
        )
        .contains("not both"));
        assert!(
            refused(json!({"rules": [{"route": "*", "effect": {"http_status": 404}}]}))
                .contains("http_status")
        );
        assert!(
            refused(json!({"rules": [{"route": "*", "effect": {"code": 1000}}]})).contains("1000")
        );
        assert!(
            refused(json!({"rules": [{"route": "*", "effect": {"drop": "sideways"}}]}))
                .contains("drop")
        );
        assert!(
            refused(json!({"rules": [{"route": "*", "effect": {"delay_ms": 0}}]}))
                .contains("delay_ms")
        );
        assert!(refused(
            json!({"rules": [{"route": "*", "effect": {"code": 1, "drop": "after"}}]})
        )
        .contains("unexpected field"));
        assert!(
            refused(json!({"rules": [{"route": "*", "effect": {"code": 1}, "x": 1}]}))
                .contains("unknown field")
        );
        assert!(refused(json!({"rules": "no"})).contains("rules"));
        assert!(refused(json!({"seed": -1, "rules": []})).contains("seed"));
        assert!(refused(json!([])).contains("object"));
    }

    #[test]
    fn webhook_rules_take_named_effects_and_a_status() {
        let set = parse_webhook_faults(&json!({"seed": 1, "rules": [
            {"status": 2, "effect": "reorder"},
            {"next": 1, "effect": {"delay_ms": 1500}},
        ]}))
        .unwrap();
        assert_eq!(set.rules[0].on, "2");
        assert_eq!(set.rules[1].on, ANY);
        let refused = |body: Value| parse_webhook_faults(&body).unwrap_err().0;
        assert!(refused(json!({"rules": [{"status": 1, "effect": "drop"}]})).contains("status"));
        assert!(refused(json!({"rules": [{"effect": "explode"}]})).contains("duplicate"));
        assert!(
            refused(json!({"rules": [{"route": "*", "effect": "drop"}]})).contains("unknown field")
        );
    }

    #[test]
    fn the_wire_form_shows_what_is_left() {
        let mut set = api(json!({"seed": 9, "rules": [
            {"route": "delbyids", "next": 2, "effect": {"drop": "before"}},
        ]}));
        set.take("delbyids");
        assert_eq!(
            set.to_wire("route", |on| json!(on)),
            json!({"seed": 9, "rules": [
                {"route": "delbyids", "next": 1, "effect": {"drop": "before"}},
            ]})
        );
    }
}
