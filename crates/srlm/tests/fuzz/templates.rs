//! Text the user or a model file supplies as a program: the chat template (Jinja, from
//! `tokenizer_config.json` or GGUF metadata), the judge template, and the score parser's
//! pattern and input.

use proptest::prelude::*;
use srlm::judge::{JudgeTemplate, ScoreParser};
use srlm::model::{ChatTemplate, Message};

use super::{fixtures, fuzz};

/// A Jinja template: the corpus's templates cut and spliced with fragments of chat-template
/// Jinja (loops, conditions, filters, errors, unbalanced tags).
fn template() -> impl Strategy<Value = String> {
    let corpus = vec![
        std::fs::read_to_string(fixtures().join("tiny-llama3/chat_template.jinja"))
            .expect("tests/fixtures/tiny-llama3"),
        "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}".to_string(),
    ];
    let fragment = prop::sample::select(vec![
        "{% for m in messages %}",
        "{% endfor %}",
        "{% if add_generation_prompt %}",
        "{% if m.role == 'user' %}",
        "{% else %}",
        "{% endif %}",
        "{{ m.content }}",
        "{{ m['role'] | upper }}",
        "{{ messages[0]['content'] | trim }}",
        "{{ messages[-1].content }}",
        "{{ bos_token }}",
        "{{ eos_token }}",
        "{{ raise_exception('no') }}",
        "{{ messages | length }}",
        "{% set ns = namespace(x=0) %}",
        "{{ ns.x }}",
        "{{ m.content.split(' ') | join('|') }}",
        "{{ m.content.strip() }}",
        "{{ 'x' * 1000 }}",
        "{% for i in range(100000) %}{{ i }}{% endfor %}",
        "{% macro f(x) %}{{ f(x) }}{% endmacro %}{{ f(1) }}",
        "{{ undefined_name.attr }}",
        "{{ 1 / 0 }}",
        "{%",
        "}}",
        "{#",
        "{{ m.content | tojson }}",
    ]);
    let spliced = (
        prop::sample::select(corpus),
        any::<prop::sample::Index>(),
        prop::collection::vec(
            prop_oneof![fragment.prop_map(String::from), "\\PC{0,8}"],
            0..6,
        ),
    )
        .prop_map(|(base, at, inserted)| {
            let cut = base
                .char_indices()
                .map(|(i, _)| i)
                .nth(at.index(base.chars().count().max(1)))
                .unwrap_or(base.len());
            format!("{}{}{}", &base[..cut], inserted.concat(), &base[cut..])
        });
    prop_oneof![3 => spliced, 1 => "\\PC{0,80}"]
}

fn messages() -> impl Strategy<Value = Vec<Message>> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["system", "user", "assistant", "tool", ""]),
            "\\PC{0,40}",
        )
            .prop_map(|(role, content)| Message::new(role, content)),
        0..5,
    )
}

#[test]
fn chat_templates() {
    fuzz(
        "chat-template",
        (template(), messages(), any::<bool>()),
        |(source, messages, generation)| {
            if let Ok(template) = ChatTemplate::new(&source, "<s>", "</s>") {
                let _ = template.render(&messages, generation);
            }
            Ok(())
        },
    );
}

/// A score pattern: the default's kind, broken regexes, patterns without a group, huge
/// repetitions.
fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            r"Score:\s*(\d+(?:\.\d+)?)",
            r"(?i)score\s*[:=]\s*(\d)",
            r"Rating=(\d+)",
            r"(",
            r"no group",
            r"(\d){1000}",
            r"((a+)+)+(\d)",
            r"(?P<n>\d)",
            r"\p{L}(\d)",
            "",
        ])
        .prop_map(String::from),
        "\\PC{0,16}",
    ]
}

#[test]
fn score_parser_and_judge_template() {
    fuzz(
        "score-parser",
        (
            pattern(),
            any::<f64>(),
            any::<f64>(),
            "\\PC{0,300}",
            any::<bool>(),
            "\\PC{0,60}",
        ),
        |(pattern, min, max, text, truncated, judge)| {
            let _ = ScoreParser::default().parse(&text, truncated);
            if let Ok(parser) = ScoreParser::new(&pattern, min, max) {
                let _ = parser.parse(&text, truncated);
            }
            if let Ok(template) = JudgeTemplate::new(&judge) {
                let _ = template.render(&text, &pattern);
            }
            Ok(())
        },
    );
}
