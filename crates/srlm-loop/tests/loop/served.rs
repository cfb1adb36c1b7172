//! Served roles that follow Mt, against a stub OpenAI-compatible server backed by a model of
//! the run: a server still serving M1 in iteration 2 stops the run before the stage; the
//! restart hook switches it, is waited for, and checked; a failing hook or a server that never
//! lists the model is a clear error; the run resumes after the fix without redoing anything.
//! (The stages' own generation stays scripted: only the identity checks talk to the stub.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use srlm_judge::{GenerationConfig, TextGenerator};
use srlm_loop::{Follows, GeneratorSpec, LoopError, RunConfig, ServedModel};
use srlm_model::{parse_device, LanguageModel, LocalGenerator};

use crate::common::{run_scripted, seed_file, serial, tiny_config, tiny_model, Scripted};

/// What the stub serves: a model folder, listed under the folder's name (`M1`, `M2`, …) or
/// under `listed`, or nothing. `switch`, when set, names a file whose content (a folder)
/// replaces it at each request, as a restarted server would.
#[derive(Default)]
struct Serving {
    folder: Option<PathBuf>,
    listed: Option<String>,
    switch: Option<PathBuf>,
    loaded: Option<(PathBuf, LanguageModel)>,
    /// Adapters loaded on the folder's model, by name (vLLM's runtime LoRA loading).
    adapters: Vec<(String, PathBuf)>,
    /// Every load and unload request, in order: `load NAME PATH`, `unload NAME`.
    admin: Vec<String>,
}

impl Serving {
    fn current(&mut self) -> Option<PathBuf> {
        if let Some(path) = &self.switch {
            if let Ok(text) = std::fs::read_to_string(path) {
                self.folder = Some(PathBuf::from(text.trim()));
            }
        }
        self.folder.clone()
    }

    fn name(&mut self) -> Option<String> {
        let folder = self.current()?;
        self.listed
            .clone()
            .or_else(|| folder.file_name().map(|n| n.to_string_lossy().into_owned()))
    }

    /// The folder's model, or an adapter on it merged, by the requested name.
    fn answer(&mut self, model_name: &str, prompt: &str, max_tokens: usize) -> String {
        let folder = self.current().expect("the stub serves a model");
        let adapter = self
            .adapters
            .iter()
            .find(|(name, _)| name == model_name)
            .map(|(_, path)| path.clone());
        let key = adapter.clone().unwrap_or_else(|| folder.clone());
        if self.loaded.as_ref().is_none_or(|(p, _)| *p != key) {
            let mut model = LanguageModel::load(&folder, &parse_device("cpu").unwrap()).unwrap();
            if let Some(path) = &adapter {
                let (config, mut weights) = srlm_model::lora::peft::load_adapter(path).unwrap();
                let merged = model
                    .model
                    .clone()
                    .with_lora_weights(&config, &mut weights)
                    .unwrap()
                    .merge_lora();
                model.model = merged;
            }
            self.loaded = Some((key, model));
        }
        let (_, model) = self.loaded.as_ref().unwrap();
        let rows = LocalGenerator::new(model, 4)
            .complete(
                &[prompt.to_string()],
                1,
                &GenerationConfig::greedy(max_tokens),
            )
            .unwrap();
        rows[0][0].text.clone()
    }
}

struct Stub {
    url: String,
    serving: Arc<Mutex<Serving>>,
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

fn handle(mut stream: TcpStream, serving: &Mutex<Serving>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut serving = serving.lock().unwrap();
    if request_line.starts_with("GET /v1/models") {
        let adapters: Vec<String> = serving.adapters.iter().map(|(n, _)| n.clone()).collect();
        let ids: Vec<Value> = serving
            .name()
            .into_iter()
            .chain(adapters)
            .map(|id| json!({"id": id}))
            .collect();
        respond(
            &mut stream,
            200,
            &json!({"object": "list", "data": ids}).to_string(),
        );
        return;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let lora_name = request["lora_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if request_line.starts_with("POST /v1/load_lora_adapter") {
        let path = PathBuf::from(request["lora_path"].as_str().unwrap_or_default());
        serving
            .admin
            .push(format!("load {lora_name} {}", path.display()));
        if serving.adapters.iter().any(|(n, _)| *n == lora_name) {
            respond(&mut stream, 400, "{\"error\": \"already loaded\"}");
        } else {
            serving.adapters.push((lora_name, path));
            respond(&mut stream, 200, "\"ok\"");
        }
        return;
    }
    if request_line.starts_with("POST /v1/unload_lora_adapter") {
        serving.admin.push(format!("unload {lora_name}"));
        let before = serving.adapters.len();
        serving.adapters.retain(|(n, _)| *n != lora_name);
        let status = if serving.adapters.len() < before {
            200
        } else {
            404
        };
        respond(
            &mut stream,
            status,
            "{\"error\": \"the lora adapter was not found\"}",
        );
        return;
    }
    if serving.current().is_none() {
        respond(&mut stream, 503, "{\"error\": \"no model loaded\"}");
        return;
    }
    let prompt = request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    let max_tokens = request["max_tokens"].as_u64().unwrap_or(16) as usize;
    let model_name = request["model"].as_str().unwrap_or_default().to_string();
    let text = serving.answer(&model_name, prompt, max_tokens);
    let reply = json!({"choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]});
    respond(&mut stream, 200, &reply.to_string());
}

fn stub(serving: Serving) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let serving = Arc::new(Mutex::new(serving));
    let shared = Arc::clone(&serving);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            handle(stream, &shared);
        }
    });
    Stub { url, serving }
}

/// The tiny run with its candidates and judge roles on `url`, under `model`, following Mt;
/// DPO's rate high enough that M2's greedy answers differ from M1's.
fn served_config(tmp: &Path, url: &str, model: &str) -> RunConfig {
    let mut config = tiny_config(&tiny_model(tmp), &seed_file());
    let served = GeneratorSpec::OpenAi(ServedModel {
        base_url: url.to_string(),
        model: model.to_string(),
        follows: Follows::Current,
    });
    config.candidates.generator = served.clone();
    config.judge.generator = served;
    config.dpo.train.peak_lr = 2e-2;
    config.dpo.train.final_lr = 2e-2;
    config.http.max_attempts = 1;
    config.serve.probe_tokens = 12;
    config
}

fn run(root: &Path, config: &RunConfig) -> srlm_loop::Result<srlm_loop::RunOutcome> {
    run_scripted(root, config, &mut Scripted::default())
}

fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn a_server_still_serving_m1_stops_iteration_two_and_the_run_resumes_after_the_fix() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("run");
    // One name for every iteration: only the probe answers can tell M1 from M2.
    let server = stub(Serving {
        folder: Some(root.join("M1")),
        listed: Some("served".into()),
        ..Serving::default()
    });
    let config = served_config(tmp.path(), &server.url, "served");
    let err = run(&root, &config).expect_err("iteration 2 must not run on M1");
    let text = err.to_string();
    assert!(matches!(err, LoopError::Serve(_)), "{err:?}");
    assert!(
        text.contains("iteration 2, candidates role")
            && text.contains("answers the probes as M1 does")
            && text.contains(&server.url),
        "{text}"
    );
    // Iteration 1 ran on M1 (its check passed); iteration 2 stopped before its first stage.
    assert!(root.join("M2/model.safetensors").exists());
    assert!(root.join("iter1/probes.json").exists() && root.join("iter2/probes.json").exists());
    assert!(!root.join("iter2/prompts.jsonl").exists());
    let probes = |t: usize| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("iter{t}/probes.json"))).unwrap(),
        )
        .unwrap()
    };
    assert_ne!(
        probes(1)["answers"],
        probes(2)["answers"],
        "M1 and M2 must answer the probes differently"
    );
    let m2 = modified(&root.join("M2/model.safetensors"));
    let iter1 = modified(&root.join("iter1/judgements.jsonl"));

    // The fix: the server serves M2. The run resumes at iteration 2 and redoes nothing.
    server.serving.lock().unwrap().folder = Some(root.join("M2"));
    let outcome = run(&root, &config).unwrap();
    assert_eq!(outcome.models.len(), 3);
    assert!(root.join("M3/model.safetensors").exists());
    assert_eq!(modified(&root.join("M2/model.safetensors")), m2);
    assert_eq!(modified(&root.join("iter1/judgements.jsonl")), iter1);
}

#[test]
fn the_restart_hook_switches_the_server_each_iteration_and_is_waited_for() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("run");
    let switch = tmp.path().join("serving");
    let calls = tmp.path().join("hook.log");
    // The server starts with nothing; the hook "restarts" it on {dir}, listed as its name.
    let server = stub(Serving {
        switch: Some(switch.clone()),
        ..Serving::default()
    });
    let mut config = served_config(tmp.path(), &server.url, "M{t}");
    config.serve.on_new_model = Some(format!(
        "printf '%s %s %s\\n' {{t}} {{name}} \"$SRLM_MODEL_DIR\" >> '{}' && printf '%s' '{{dir}}' > '{}'",
        calls.display(),
        switch.display()
    ));
    config.serve.wait_secs = 10.0;
    let outcome = run(&root, &config).unwrap();
    assert_eq!(outcome.models.len(), 3);
    let log = std::fs::read_to_string(&calls).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    for (t, line) in lines.iter().enumerate() {
        let t = t + 1;
        let dir = std::path::absolute(root.join(format!("M{t}"))).unwrap();
        assert_eq!(*line, format!("{t} M{t} {}", dir.display()));
    }
    // A rerun of the finished run checks nothing and runs no hook.
    run(&root, &config).unwrap();
    assert_eq!(std::fs::read_to_string(&calls).unwrap(), log);
}

#[test]
fn a_failing_hook_or_a_server_that_never_lists_the_model_is_a_clear_error() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let server = stub(Serving::default());
    let mut config = served_config(tmp.path(), &server.url, "M{t}");
    config.serve.on_new_model = Some("echo cannot restart >&2; exit 3".into());
    let root = tmp.path().join("run");
    let err = run(&root, &config).unwrap_err().to_string();
    assert!(
        err.contains("serve.on_new_model") && err.contains("cannot restart") && err.contains("3"),
        "{err}"
    );
    config.serve.on_new_model = Some("true".into());
    config.serve.wait_secs = 1.0;
    let err = run(&root, &config).unwrap_err().to_string();
    assert!(
        err.contains("did not list `M1` within serve.wait_secs = 1 s"),
        "{err}"
    );
    // Without a hook, the error says how to fix it.
    config.serve.on_new_model = None;
    let err = run(&root, &config).unwrap_err().to_string();
    assert!(
        err.contains("iteration 1, candidates role")
            && err.contains("fails the probe completions")
            && err.contains("on_new_model")
            && err.contains("follows = \"fixed\""),
        "{err}"
    );
}

#[test]
fn a_fixed_role_is_never_held_to_mt() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    // A server that answers as M0 would, listed as `outside`: a fixed judge.
    let server = stub(Serving {
        folder: Some(tmp.path().join("tiny")),
        listed: Some("outside".into()),
        ..Serving::default()
    });
    let mut config = served_config(tmp.path(), &server.url, "outside");
    for spec in [
        &mut config.candidates.generator,
        &mut config.judge.generator,
    ] {
        if let GeneratorSpec::OpenAi(served) = spec {
            served.follows = Follows::Fixed;
        }
    }
    let root = tmp.path().join("run");
    let mut c = config.clone();
    c.run.iterations = 1;
    run(&root, &c).unwrap();
    assert!(
        !root.join("iter1/probes.json").exists(),
        "no check, no probes"
    );
}

#[test]
fn with_lora_each_mt_is_loaded_on_the_server_as_its_stacked_adapter() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("run");
    // vLLM serving M0 with --enable-lora: the run loads M1, M2 as adapters on it.
    let server = stub(Serving {
        folder: Some(tmp.path().join("tiny")),
        listed: Some("base".into()),
        ..Serving::default()
    });
    let mut config = served_config(tmp.path(), &server.url, "M{t}");
    config.sft.lora = Some(srlm_model::LoraConfig::new(4));
    config.dpo.train.lora = Some(srlm_model::LoraConfig::new(2));
    config.serve.load_adapters = true;
    config.serve.wait_secs = 5.0;
    let outcome = run(&root, &config).unwrap();
    assert_eq!(outcome.models.len(), 3);
    let abs = |t: usize| {
        std::path::absolute(root.join(format!("M{t}/adapter")))
            .unwrap()
            .display()
            .to_string()
    };
    let admin = server.serving.lock().unwrap().admin.clone();
    assert_eq!(
        admin,
        [
            "unload M1".to_string(),
            format!("load M1 {}", abs(1)),
            "unload M1".to_string(),
            "unload M2".to_string(),
            format!("load M2 {}", abs(2)),
        ],
        "drop t − 1's name, then load Mt's adapter under its name"
    );
    // M2's adapter is SFT's and iteration 1's stacked: rank 4 + 2, relative to M0.
    let (stacked, _) = srlm_model::lora::peft::load_adapter(&root.join("M2/adapter")).unwrap();
    assert_eq!(stacked.rank, 6);
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("M2/adapter/adapter_config.json")).unwrap(),
    )
    .unwrap();
    let base = std::path::absolute(tmp.path().join("tiny")).unwrap();
    assert_eq!(
        settings["base_model_name_or_path"],
        base.display().to_string()
    );
    // M3 has its adapter too (for the next run or an evaluation on the server).
    assert!(root.join("M3/adapter/adapter_model.safetensors").exists());

    // A run whose DPO trains every weight has no adapters to load: a clear error.
    let tmp = tempfile::tempdir().unwrap();
    let mut full = served_config(tmp.path(), &server.url, "M{t}");
    full.serve.load_adapters = true;
    let err = run(&tmp.path().join("run"), &full).unwrap_err().to_string();
    assert!(
        err.contains("serve.load_adapters, but M1 has no adapter")
            && err.contains("dpo.train.lora"),
        "{err}"
    );
}
