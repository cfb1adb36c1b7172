//! The HTTP judge against a stub OpenAI-compatible server on 127.0.0.1.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use srlm_judge::{
    HttpConfig, Judge, JudgeItem, OpenAiGenerator, SampleParams, SamplingJudge, TextGenerator,
};

/// What the stub does with the `n`-th request (0-based) carrying a given prompt.
type Behaviour = dyn Fn(&str, usize, Option<&str>) -> (u16, String, Duration) + Send + Sync;

struct Stub {
    url: String,
}

fn reply_ok(content: &str) -> String {
    json!({"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}).to_string()
}

fn handle(mut stream: TcpStream, behaviour: &Behaviour, seen: &Mutex<HashMap<String, usize>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    let mut auth = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("authorization:") {
            auth = Some(line["authorization:".len()..].trim().to_string());
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let prompt = request["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let n = {
        let mut seen = seen.lock().unwrap();
        let count = seen.entry(prompt.clone()).or_default();
        *count += 1;
        *count - 1
    };
    let (status, body, delay) = behaviour(&prompt, n, auth.as_deref());
    std::thread::sleep(delay);
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

fn stub(
    behaviour: impl Fn(&str, usize, Option<&str>) -> (u16, String, Duration) + Send + Sync + 'static,
) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let behaviour: Arc<Behaviour> = Arc::new(behaviour);
    let seen = Arc::new(Mutex::new(HashMap::new()));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (behaviour, seen) = (behaviour.clone(), seen.clone());
            std::thread::spawn(move || handle(stream, &*behaviour, &seen));
        }
    });
    Stub { url }
}

fn client(url: &str, timeout: f64, attempts: usize) -> OpenAiGenerator {
    OpenAiGenerator::new(HttpConfig {
        base_url: url.to_string(),
        model: "stub".into(),
        api_key_env: None,
        concurrency: 4,
        timeout_secs: timeout,
        max_attempts: attempts,
        backoff_ms: 10,
    })
    .unwrap()
}

#[test]
fn a_500_then_success_is_retried() {
    let server = stub(|_, n, _| {
        if n == 0 {
            (500, "{\"error\": \"overloaded\"}".into(), Duration::ZERO)
        } else {
            (200, reply_ok("Fine.\nScore: 4"), Duration::ZERO)
        }
    });
    let mut judge = SamplingJudge::new(client(&server.url, 5.0, 3));
    let items = vec![JudgeItem {
        prompt: "p".into(),
        response: "r".into(),
    }];
    let out = judge.judge(&items).unwrap();
    assert_eq!(out[0].score, Some(4.0));
    assert_eq!(out[0].valid(), 3);
}

#[test]
fn a_hang_times_out_with_a_clear_error() {
    let server = stub(|_, _, _| (200, reply_ok("Score: 1"), Duration::from_secs(5)));
    let mut gen = client(&server.url, 0.3, 2);
    let start = Instant::now();
    let err = gen
        .complete(&["slow".into()], 1, &SampleParams::default())
        .unwrap_err()
        .to_string();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the timeout did not apply"
    );
    assert!(
        err.contains("/v1/chat/completions") && err.contains("2 attempt"),
        "{err}"
    );
}

#[test]
fn garbage_json_and_client_errors_are_clear_and_not_retried() {
    let server = stub(|prompt, _, _| match prompt {
        "garbage" => (200, "this is not json {".into(), Duration::ZERO),
        _ => (400, "{\"error\": \"bad model\"}".into(), Duration::ZERO),
    });
    let mut gen = client(&server.url, 5.0, 3);
    let err = gen
        .complete(&["garbage".into()], 1, &SampleParams::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not JSON") && err.contains("this is not json") && err.contains("1 attempt"),
        "{err}"
    );
    let err = gen
        .complete(&["other".into()], 1, &SampleParams::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 400") && err.contains("bad model"),
        "{err}"
    );
}

#[test]
fn nothing_is_lost_from_a_batch_under_faults() {
    // Every prompt's first two requests fail (429, then 503); the rest echo the prompt.
    let server = stub(|prompt, n, _| match n {
        0 => (429, "{}".into(), Duration::ZERO),
        1 => (503, "{}".into(), Duration::ZERO),
        _ => (
            200,
            reply_ok(&format!("echo {prompt}\nScore: {}", prompt.len() % 6)),
            Duration::from_millis(5),
        ),
    });
    let mut gen = client(&server.url, 5.0, 8);
    let prompts: Vec<String> = (0..12)
        .map(|i| format!("prompt-{i}{}", "x".repeat(i)))
        .collect();
    let out = gen.complete(&prompts, 3, &SampleParams::default()).unwrap();
    assert_eq!(out.len(), 12);
    for (prompt, samples) in prompts.iter().zip(&out) {
        assert_eq!(samples.len(), 3);
        for s in samples {
            assert!(
                s.text.starts_with(&format!("echo {prompt}\n")),
                "{prompt}: {}",
                s.text
            );
        }
    }
}

#[test]
fn api_key_comes_from_the_environment_and_is_never_shown() {
    std::env::set_var("SRLM_TEST_JUDGE_KEY", "sekret-123");
    let server = stub(|_, _, auth| match auth {
        Some("Bearer sekret-123") => (200, reply_ok("Score: 5"), Duration::ZERO),
        _ => (401, "{}".into(), Duration::ZERO),
    });
    let config = HttpConfig {
        base_url: format!("{}/v1/", server.url),
        api_key_env: Some("SRLM_TEST_JUDGE_KEY".into()),
        ..HttpConfig::default()
    };
    let mut gen = OpenAiGenerator::new(config).unwrap();
    assert!(!format!("{gen:?}").contains("sekret"));
    let out = gen
        .complete(&["k".into()], 1, &SampleParams::default())
        .unwrap();
    assert_eq!(out[0][0].text, "Score: 5");
    let missing = HttpConfig {
        api_key_env: Some("SRLM_TEST_UNSET_KEY_VAR".into()),
        ..HttpConfig::default()
    };
    assert!(OpenAiGenerator::new(missing)
        .unwrap_err()
        .to_string()
        .contains("SRLM_TEST_UNSET_KEY_VAR"));
}
