//! [`InstructedPrompt`]: a prompt with its verifiable instructions, in IFEval's dataset format
//! (`key`, `prompt`, `instruction_id_list`, `kwargs`), plus the bare task where it is known.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{instructed_prompt, Instruction, VerifiableError};

/// One prompt of an instruction-following set, as IFEval's `input_data.jsonl` writes it; IFEval's
/// own file reads as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstructedPrompt {
    /// An identifier, unique in its set (IFEval: an integer).
    pub key: Value,
    /// The whole prompt the model sees: the task with the instructions' texts appended.
    pub prompt: String,
    /// The instruction ids, in order.
    pub instruction_id_list: Vec<String>,
    /// Each instruction's arguments (`{}` for none).
    pub kwargs: Vec<Map<String, Value>>,
    /// The task without its instructions, when the set was made by srlm: answers to it tell how
    /// often the checks pass when nothing asked for them (the floor of an accuracy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
}

impl InstructedPrompt {
    /// A prompt from a task and its instructions, the texts appended as IFEval appends them.
    pub fn new(key: impl Into<Value>, task: &str, instructions: &[Instruction]) -> Self {
        InstructedPrompt {
            key: key.into(),
            prompt: instructed_prompt(task, instructions),
            instruction_id_list: instructions.iter().map(|i| i.id().to_string()).collect(),
            kwargs: instructions.iter().map(Instruction::to_kwargs).collect(),
            task: Some(task.to_string()),
        }
    }

    /// The instructions, built from their ids and arguments; a kind this crate does not check
    /// or arguments it cannot take are errors naming the prompt's key.
    pub fn instructions(&self) -> Result<Vec<Instruction>, VerifiableError> {
        if self.kwargs.len() != self.instruction_id_list.len() {
            return Err(VerifiableError::Argument {
                id: format!("prompt {}", self.key),
                arg: "kwargs".into(),
                reason: format!(
                    "{} argument sets for {} instructions",
                    self.kwargs.len(),
                    self.instruction_id_list.len()
                ),
            });
        }
        self.instruction_id_list
            .iter()
            .zip(&self.kwargs)
            .map(|(id, kwargs)| {
                Instruction::from_kwargs(id, kwargs).map_err(|e| match e {
                    VerifiableError::Argument { id, arg, reason } => VerifiableError::Argument {
                        id: format!("{id} (prompt {})", self.key),
                        arg,
                        reason,
                    },
                    other => other,
                })
            })
            .collect()
    }
}
