use srlm_judge::JudgeTemplate;

#[test]
fn default_template_renders_the_papers_wording_exactly() {
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/judge-prompt-paper.txt"
    ))
    .unwrap();
    let rendered = JudgeTemplate::paper()
        .render("<INSTRUCTION_HERE>", "<RESPONSE_HERE>")
        .unwrap();
    assert_eq!(rendered, golden);
    assert!(
        rendered.contains("user\u{2019}s question")
            && rendered.contains("\u{201c}Score: <total points>\u{201d}")
    );
}

#[test]
fn values_are_inserted_verbatim_and_custom_templates_work() {
    let rendered = JudgeTemplate::paper()
        .render("Is 1 < 2 & \"true\"?", "Yes {{ not a tag }}")
        .unwrap();
    assert!(
        rendered.contains("User: Is 1 < 2 & \"true\"?\n<response>Yes {{ not a tag }}</response>")
    );
    let custom = JudgeTemplate::new("Q: {{ prompt }} A: {{ response }}").unwrap();
    assert_eq!(custom.render("x", "y").unwrap(), "Q: x A: y");
    assert!(JudgeTemplate::new("{% if %}").is_err());
}
