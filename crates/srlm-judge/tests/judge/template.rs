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

#[test]
fn pairwise_answers_containing_placeholders_are_not_spliced() {
    use srlm_judge::PairwiseTemplate;
    let template = PairwiseTemplate::mt_bench();
    // Code answers often contain braces: chained `str::replace` spliced answer B into answer A.
    let a = "fn f() { let s = format!(\"{b}\"); } and {{ b }}";
    let b = "SECOND ANSWER";
    let rendered = template.render("Q {a}?", a, b).unwrap();
    assert_eq!(rendered.matches("SECOND ANSWER").count(), 1, "{rendered}");
    assert!(rendered.contains("[User Question]\nQ {a}?\n"));
    assert!(rendered.contains(&format!(
        "[The Start of Assistant A's Answer]\n{a}\n[The End of Assistant A's Answer]"
    )));
    assert!(rendered.contains(
        "[The Start of Assistant B's Answer]\nSECOND ANSWER\n[The End of Assistant B's Answer]"
    ));
    assert!(rendered.ends_with("[The End of Assistant B's Answer]"));
    assert!(PairwiseTemplate::new("{% if %}").is_err());
}
