//! The HTTP judge against a stub OpenAI-compatible server on 127.0.0.1.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use srlm_judge::{
    default_judge_sampling, Endpoint, GenerationConfig, HttpConfig, HttpSettings, Judge, JudgeItem,
    OpenAiGenerator, SamplingJudge, SamplingParams, TextGenerator, REQUEST_SEED_BITS,
};

/// What the stub does with the `n`-th request (0-based) carrying a given prompt.
type Behaviour = dyn Fn(&str, usize, Option<&str>) -> (u16, String, Duration) + Send + Sync;

struct Stub {
    url: String,
    /// Every chat-completions request body received, in arrival order.
    bodies: Arc<Mutex<Vec<Value>>>,
}

/// The models `GET /v1/models` lists (`None`: the route does not exist, 404).
type Models = Option<Vec<&'static str>>;

fn reply_ok(content: &str) -> String {
    json!({"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}).to_string()
}

fn handle(
    mut stream: TcpStream,
    behaviour: &Behaviour,
    seen: &Mutex<HashMap<String, usize>>,
    bodies: &Mutex<Vec<Value>>,
    models: &Models,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    let mut auth = None;
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
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
    if request_line.starts_with("GET /v1/models") {
        let (status, body) = match models {
            Some(ids) => (
                200,
                json!({"object": "list", "data": ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>()}).to_string(),
            ),
            None => (404, "{\"detail\": \"Not Found\"}".to_string()),
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes());
        return;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    bodies.lock().unwrap().push(request.clone());
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
    if status == 0 {
        // Close without answering (a server that resets the connection).
        return;
    }
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// A server answering chat completions by `behaviour` (status 0: close without answering)
/// and listing the model `stub`.
fn stub(
    behaviour: impl Fn(&str, usize, Option<&str>) -> (u16, String, Duration) + Send + Sync + 'static,
) -> Stub {
    stub_listing(Some(vec!["stub"]), behaviour)
}

fn stub_listing(
    models: Models,
    behaviour: impl Fn(&str, usize, Option<&str>) -> (u16, String, Duration) + Send + Sync + 'static,
) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let behaviour: Arc<Behaviour> = Arc::new(behaviour);
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let models = Arc::new(models);
    let recorded = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (behaviour, seen, bodies, models) = (
                behaviour.clone(),
                seen.clone(),
                bodies.clone(),
                models.clone(),
            );
            std::thread::spawn(move || handle(stream, &*behaviour, &seen, &bodies, &models));
        }
    });
    Stub {
        url,
        bodies: recorded,
    }
}

fn config(url: &str, model: &str, timeout: f64, attempts: usize) -> HttpConfig {
    HttpConfig {
        endpoint: Endpoint {
            base_url: url.to_string(),
            model: model.into(),
        },
        settings: HttpSettings {
            concurrency: 4,
            read_timeout_secs: timeout,
            max_attempts: attempts,
            backoff_ms: 10,
            ..HttpSettings::default()
        },
    }
}

fn client(url: &str, timeout: f64, attempts: usize) -> OpenAiGenerator {
    OpenAiGenerator::new(config(url, "stub", timeout, attempts)).unwrap()
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
        .complete(&["slow".into()], 1, &default_judge_sampling())
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
        .complete(&["garbage".into()], 1, &default_judge_sampling())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not JSON") && err.contains("this is not json") && err.contains("1 attempt"),
        "{err}"
    );
    let err = gen
        .complete(&["other".into()], 1, &default_judge_sampling())
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
            reply_ok(&format!(
                "echo {prompt}\nScore: {} (reply {n})",
                prompt.len() % 6
            )),
            Duration::from_millis(5),
        ),
    });
    let mut gen = client(&server.url, 5.0, 8);
    let prompts: Vec<String> = (0..12)
        .map(|i| format!("prompt-{i}{}", "x".repeat(i)))
        .collect();
    let out = gen
        .complete(&prompts, 3, &default_judge_sampling())
        .unwrap();
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
    let mut config = config(&format!("{}/v1/", server.url), "stub", 5.0, 1);
    config.settings.api_key_env = Some("SRLM_TEST_JUDGE_KEY".into());
    let mut gen = OpenAiGenerator::new(config).unwrap();
    assert!(!format!("{gen:?}").contains("sekret"));
    let out = gen
        .complete(&["k".into()], 1, &default_judge_sampling())
        .unwrap();
    assert_eq!(out[0][0].text, "Score: 5");
    let mut missing = HttpConfig::default();
    missing.settings.api_key_env = Some("SRLM_TEST_UNSET_KEY_VAR".into());
    assert!(OpenAiGenerator::new(missing)
        .unwrap_err()
        .to_string()
        .contains("SRLM_TEST_UNSET_KEY_VAR"));
}

#[test]
fn request_seeds_fit_every_server() {
    // vLLM rejects seeds above 2^63 − 1; llama.cpp reads 32 bits. The loop's unit seeds are
    // full 64-bit values.
    let server = stub(|_, _, _| (200, reply_ok("Score: 3"), Duration::ZERO));
    let mut gen = client(&server.url, 5.0, 1);
    let prompts: Vec<String> = (0..6).map(|i| format!("p{i}")).collect();
    for seed in [15_354_349_423_939_954_581u64, u64::MAX, 0] {
        let params = GenerationConfig {
            sampling: SamplingParams::default(),
            ..default_judge_sampling()
        }
        .with_seed(seed);
        gen.complete(&prompts, 2, &params).unwrap();
    }
    let bodies = server.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 36);
    let mut seeds: Vec<u64> = bodies.iter().map(|b| b["seed"].as_u64().unwrap()).collect();
    assert!(
        seeds.iter().all(|&s| s < 1 << REQUEST_SEED_BITS),
        "{seeds:?}"
    );
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(seeds.len(), 36, "every request of a call gets its own seed");
}

#[test]
fn an_http_500_stays_in_the_error_after_the_connection_resets() {
    // The first attempt gets a 500 with a message; later ones find the connection closed.
    let server = stub(|_, n, _| match n {
        0 => (
            500,
            "{\"error\": \"CUDA out of memory\"}".into(),
            Duration::ZERO,
        ),
        _ => (0, String::new(), Duration::ZERO),
    });
    let mut gen = client(&server.url, 5.0, 3);
    let err = gen
        .complete(&["x".into()], 1, &default_judge_sampling())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 500")
            && err.contains("CUDA out of memory")
            && err.contains("last attempt: transport"),
        "{err}"
    );
}

#[test]
fn preflight_checks_the_model_name_and_one_completion() {
    let server = stub(|_, _, _| (200, reply_ok("OK"), Duration::ZERO));
    client(&server.url, 5.0, 1).preflight().unwrap();

    let wrong = OpenAiGenerator::new(config(&server.url, "llama", 5.0, 1)).unwrap();
    let err = wrong.preflight().unwrap_err().to_string();
    assert!(
        err.contains("does not serve `llama`") && err.contains("`stub`"),
        "{err}"
    );

    // No model listing: the completion still has to succeed.
    let unlisted = stub_listing(None, |_, _, _| (200, reply_ok("OK"), Duration::ZERO));
    client(&unlisted.url, 5.0, 1).preflight().unwrap();
    let refusing = stub_listing(None, |_, _, _| {
        (
            404,
            "{\"error\": \"model not found\"}".into(),
            Duration::ZERO,
        )
    });
    let err = client(&refusing.url, 5.0, 1)
        .preflight()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("preflight completion") && err.contains("model not found"),
        "{err}"
    );

    // Nothing listening.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client(&dead, 5.0, 1).preflight().unwrap_err().to_string();
    assert!(err.contains("cannot reach the server"), "{err}");
}

#[test]
fn a_server_that_does_not_sample_is_stopped() {
    // Like `transformers serve` without do_sample: the same text whatever the seed.
    let server = stub(|prompt, _, _| {
        (
            200,
            reply_ok(&format!("answer to {prompt}")),
            Duration::ZERO,
        )
    });
    let mut gen = client(&server.url, 5.0, 1);
    let params = default_judge_sampling();
    let prompts: Vec<String> = (0..4).map(|i| format!("p{i}")).collect();
    let err = gen.complete(&prompts, 4, &params).unwrap_err().to_string();
    assert!(
        err.contains("not sampling") && err.contains("do_sample"),
        "{err}"
    );
    // Greedy requests, or one sample per prompt, are not checked.
    let mut gen = client(&server.url, 5.0, 1);
    let greedy = GenerationConfig {
        sampling: SamplingParams::default(),
        ..params.clone()
    };
    gen.complete(&prompts, 4, &greedy).unwrap();
    gen.complete(&prompts, 1, &params).unwrap();
    // A sampling server passes.
    let sampling =
        stub(|prompt, n, _| (200, reply_ok(&format!("{prompt} take {n}")), Duration::ZERO));
    let mut gen = client(&sampling.url, 5.0, 1);
    gen.complete(&prompts, 4, &params).unwrap();
}
