//! Judging a candidate's conditions with an LLM, from the statements read about it.
//!
//! The model sees the candidate, the conditions and the statements (numbered, with their
//! pages) and answers, per condition, whether it is met (`true`), contradicted (`false`) or
//! undecided (`null`), with the numbers of the statements it relied on. An answer is kept only
//! when it cites statements it was shown: a "met" without a valid citation is undecided, so
//! the model cannot match a candidate on what no page read says.

use crate::llm::{LlmClient, Message};
use parallax_api::findall::{Candidate, FindAllSchema};
use serde_json::{json, Value};

/// A statement shown to the model: its page and its text.
pub struct Shown<'a> {
    pub url: &'a str,
    pub title: Option<&'a str>,
    pub text: &'a str,
    /// The statement as the page writes it, for citations.
    pub excerpt: String,
    pub own: bool,
}

/// The model's judgement of one condition, checked against what it was shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// `Some(true)` met, `Some(false)` contradicted, `None` undecided.
    pub met: Option<bool>,
    pub value: String,
    /// Indexes into the statements shown.
    pub cited: Vec<usize>,
    pub reasoning: String,
}

/// Most statements shown to the model for one candidate.
pub const MAX_SHOWN: usize = 40;

fn answer_schema() -> Value {
    json!({
        "title": "findall_evaluation",
        "type": "object",
        "properties": {
            "conditions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "is_matched": {"type": ["boolean", "null"]},
                        "value": {"type": "string"},
                        "statements": {"type": "array", "items": {"type": "integer"}},
                        "reasoning": {"type": "string"}
                    },
                    "required": ["name", "is_matched", "value", "statements", "reasoning"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["conditions"],
        "additionalProperties": false
    })
}

/// Asks the model; `None` when it fails (the caller falls back to the extractive judge).
/// The result has one entry per condition of `schema`, in order.
pub async fn judge(
    llm: &LlmClient,
    schema: &FindAllSchema,
    candidate: &Candidate,
    shown: &[Shown<'_>],
) -> Option<Vec<Judged>> {
    let mut statements = String::new();
    for (i, s) in shown.iter().enumerate() {
        statements.push_str(&format!(
            "[{}] ({}{}) {}\n",
            i + 1,
            s.url,
            if s.own {
                ", the candidate's own page"
            } else {
                ""
            },
            s.text
        ));
    }
    let conditions: String = schema
        .match_conditions
        .iter()
        .map(|c| format!("- {}: {}\n", c.name, c.description))
        .collect();
    let system = "You check whether a candidate entity meets conditions, using only the numbered \
        statements from web pages you are given. For each condition: is_matched is true only when \
        a statement states that the condition holds for this candidate; false when a statement \
        states the contrary; null when no statement decides it (unknown is never true). Cite the \
        numbers of the statements you relied on; value is the fact that decides it, in a few words.";
    let user = format!(
        "Objective: {}\nEntity type: {}\nCandidate: {} ({})\n\nConditions:\n{conditions}\nStatements:\n{statements}",
        schema.objective, schema.entity_type, candidate.name, candidate.url
    );
    let (answer, _) = match llm
        .chat_json(
            &[Message::system(system), Message::user(user)],
            &answer_schema(),
            1,
        )
        .await
    {
        Ok(answer) => answer,
        Err(error) => {
            tracing::info!(candidate = %candidate.name, %error, "the LLM could not judge a FindAll candidate; judging extractively");
            return None;
        }
    };
    let given = answer["conditions"].as_array()?;
    Some(
        schema
            .match_conditions
            .iter()
            .map(|c| {
                let Some(a) = given.iter().find(|a| a["name"].as_str() == Some(&c.name)) else {
                    return Judged {
                        met: None,
                        value: "Not judged".into(),
                        cited: Vec::new(),
                        reasoning: "The model gave no judgement for this condition.".into(),
                    };
                };
                let cited: Vec<usize> = a["statements"]
                    .as_array()
                    .map(|n| {
                        n.iter()
                            .filter_map(Value::as_u64)
                            .filter(|n| (1..=shown.len() as u64).contains(n))
                            .map(|n| n as usize - 1)
                            .collect()
                    })
                    .unwrap_or_default();
                let met = a["is_matched"].as_bool().filter(|_| !cited.is_empty());
                Judged {
                    met,
                    value: a["value"].as_str().unwrap_or("").to_string(),
                    cited,
                    reasoning: a["reasoning"].as_str().unwrap_or("").to_string(),
                }
            })
            .collect(),
    )
}
