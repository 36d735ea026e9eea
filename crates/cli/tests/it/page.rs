//! The page `llmrig serve` serves, in a real browser (Debian's chromium through chromedriver and
//! WebDriver): pick a model and a GPU, change the context by keyboard, read the memory bar and the
//! numbers, compare them with `llmrig estimate --json`. Needs `chromium` and `chromedriver` on
//! PATH, so it is ignored by default; `.ci/run` installs both and runs it
//! (`cargo test -p llmrig --test it -- --ignored page`). With `LLMRIG_SCREENSHOTS=DIR` it also
//! writes the page at desktop and phone width (light and dark) there, for docs/.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use super::serve::{cli_json, start};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser(port: u16, width: u32, height: u32, dark: bool) -> Client {
    let mut args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--disable-dev-shm-usage".to_string(),
        format!("--window-size={width},{height}"),
    ];
    if dark {
        args.push("--force-dark-mode".to_string());
        args.push("--blink-settings=preferredColorScheme=0".to_string());
    }
    let caps: serde_json::Map<String, Value> = match json!({
        "browserName": "chrome",
        "goog:chromeOptions": {"args": args},
    }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    let t = Instant::now();
    loop {
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match c {
            Ok(c) => return c,
            Err(e) if t.elapsed() > Duration::from_secs(20) => panic!("chromedriver: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Waits until the page has answered every input made so far (the script counts the answers
/// drawn in `body[data-seq]` and marks a request in flight in `body[data-busy]`): the count is
/// above `after` and has not moved for 300 ms. Returns it.
async fn settled(c: &Client, after: u64) -> u64 {
    let t = Instant::now();
    let (mut last, mut still) = (0, 0);
    loop {
        let v = c
            .execute(
                "return [document.body.dataset.seq || '0', document.body.dataset.busy || ''];",
                vec![],
            )
            .await
            .unwrap();
        let seq: u64 = v[0].as_str().unwrap_or("0").parse().unwrap_or(0);
        if seq > after && v[1].as_str() == Some("") && seq == last {
            still += 1;
            if still >= 6 {
                return seq;
            }
        } else {
            still = 0;
        }
        last = seq;
        if t.elapsed() > Duration::from_secs(30) {
            panic!(
                "the page did not update: {v:?}\n{}",
                c.source().await.unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Picks `value` in the select at `css`.
async fn choose(c: &Client, css: &str, value: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn tps(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// What the CLI says of the page's settings (Llama 3.1 8B Q4_K_M, 16384 tokens) on these GPUs.
fn estimate_on(gpus: &[&str]) -> Value {
    let mut args = vec!["estimate", "llama-3.1-8b", "-q", "Q4_K_M", "-c", "16384"];
    for g in gpus {
        args.extend(["--gpu", g]);
    }
    args.extend(["--launch", "llama.cpp"]);
    serde_json::from_str(&cli_json(&args)).unwrap()
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs chromium and chromedriver (installed by .ci/run)"]
async fn page_shows_what_estimate_says() {
    let server = start(&[]);
    let port = free_port();
    let _driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver on PATH"),
    );
    let c = browser(port, 1280, 900, false).await;
    c.goto(&format!("http://{}/", server.addr)).await.unwrap();
    let mut seq = settled(&c, 0).await;

    // Pick a model (typed) and a GPU (from the catalog list), then raise the context by one
    // step with the keyboard: 8192 → 16384 tokens.
    let model = c.find(Locator::Id("model")).await.unwrap();
    model.clear().await.unwrap();
    model.send_keys("llama-3.1-8b").await.unwrap();
    seq = settled(&c, seq).await;
    choose(&c, "#gpu", "rtx-4090").await;
    seq = settled(&c, seq).await;
    let ctx = c.find(Locator::Id("ctx")).await.unwrap();
    ctx.send_keys(&Key::Right.to_string()).await.unwrap();
    settled(&c, seq).await;
    assert_eq!(text(&c, "#ctx-out").await, "16384");
    if let Ok(path) = std::env::var("LLMRIG_PAGE_TIMING") {
        // Input to redraw, ms, for the README (a measurement, not a pass/fail test). Each input
        // waits for the previous one's `need` and plan requests to end, so it measures the
        // estimate alone.
        let mut ms = Vec::new();
        for key in [Key::Left, Key::Right].iter().cycle().take(20) {
            tokio::time::sleep(Duration::from_secs(3)).await;
            let before = settled(&c, 0).await;
            ctx.send_keys(&key.to_string()).await.unwrap();
            settled(&c, before).await;
            let v = c
                .execute("return document.body.dataset.ms;", vec![])
                .await
                .unwrap();
            ms.push(v.as_str().unwrap_or("0").parse::<f64>().unwrap_or(0.0));
        }
        ms.sort_by(f64::total_cmp);
        std::fs::write(path, format!("{ms:?}\n")).unwrap();
    }

    let v = estimate_on(&["rtx-4090"]);
    let gpu = &v["memory"]["devices"][0];
    let bar = c
        .find(Locator::Css("#bars .bar p"))
        .await
        .unwrap()
        .attr("data-total")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        bar,
        gpu["total_bytes"].to_string(),
        "the bar's total is the CLI's"
    );
    for part in [
        "weights_bytes",
        "kv_cache_bytes",
        "compute_bytes",
        "other_bytes",
    ] {
        let rect = c
            .find(Locator::Css(&format!("#bars rect[data-part={part}]")))
            .await
            .unwrap();
        assert_eq!(
            rect.attr("data-bytes").await.unwrap().unwrap(),
            gpu[part].to_string(),
            "{part}"
        );
    }
    let p = &v["performance"];
    let decode = text(&c, "dd[data-field=decode]").await;
    assert!(
        decode.starts_with(&format!(
            "{} tok/s",
            tps(p["decode_tokens_per_s"].as_f64().unwrap())
        )),
        "{decode} vs {}",
        p["decode_tokens_per_s"]
    );
    assert_eq!(
        text(&c, "dd[data-field=layers]").await,
        format!(
            "{} of {}",
            v["offload"]["gpu_layers"], v["offload"]["total_layers"]
        )
    );
    assert_eq!(
        text(&c, "#launch").await,
        v["launch"]["command"].as_str().unwrap()
    );
    let verdict = c
        .find(Locator::Id("verdict"))
        .await
        .unwrap()
        .attr("data-verdict")
        .await
        .unwrap();
    assert_eq!(verdict.as_deref(), v["verdict"].as_str());
    // A second GPU of another kind: one more row, one more bar, as `--gpu rtx-4090 --gpu rtx-3090`.
    let before = settled(&c, 0).await;
    c.find(Locator::Id("add-gpu"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let before = settled(&c, before).await;
    choose(&c, ".gpu-row:nth-of-type(2) select", "rtx-3090").await;
    settled(&c, before).await;
    let two = estimate_on(&["rtx-4090", "rtx-3090"]);
    let bars = c.find_all(Locator::Css("#bars .bar p")).await.unwrap();
    let devices = two["memory"]["devices"].as_array().unwrap();
    assert_eq!(bars.len(), devices.len());
    for (b, d) in bars.iter().zip(devices) {
        assert_eq!(
            b.attr("data-total").await.unwrap().unwrap(),
            d["total_bytes"].to_string()
        );
    }
    c.find(Locator::Css(".gpu-row:nth-of-type(2) button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // `need` and the vLLM plan follow once the controls rest.
    let want_plan: Value =
        serde_json::from_str(&cli_json(&["plan", "llama-3.1-8b", "--gpu", "rtx-4090"])).unwrap();
    let want_need: Value = serde_json::from_str(&cli_json(&[
        "need",
        "llama-3.1-8b",
        "-q",
        "Q4_K_M",
        "-c",
        "16384",
        "--top",
        "5",
    ]))
    .unwrap();
    let t = Instant::now();
    loop {
        let cmd = text(&c, "#plan-command").await;
        let items = c.find_all(Locator::Css("#need li")).await.unwrap().len();
        if cmd == want_plan["command"].as_str().unwrap()
            && items == want_need["options"].as_array().unwrap().len()
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "plan {cmd:?}, need {items} options"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // An unknown model says so, from the API's error.
    let model = c.find(Locator::Id("model")).await.unwrap();
    model.clear().await.unwrap();
    model.send_keys("no-such-model-zz").await.unwrap();
    let seq = settled(&c, 0).await;
    let _ = seq;
    let t = Instant::now();
    while !text(&c, "#verdict").await.contains("no-such-model-zz") {
        assert!(t.elapsed() < Duration::from_secs(10), "no error shown");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if let Ok(dir) = std::env::var("LLMRIG_SCREENSHOTS") {
        let before = settled(&c, 0).await;
        model.clear().await.unwrap();
        model.send_keys("qwen3-32b").await.unwrap();
        settled(&c, before).await;
        std::fs::write(
            format!("{dir}/page-desktop.png"),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
    }
    c.close().await.unwrap();

    if let Ok(dir) = std::env::var("LLMRIG_SCREENSHOTS") {
        // Phone width, dark.
        let c = browser(port, 360, 1400, true).await;
        c.goto(&format!("http://{}/", server.addr)).await.unwrap();
        let before = settled(&c, 0).await;
        choose(&c, "#gpu", "rtx-3060-12gb").await;
        settled(&c, before).await;
        std::fs::write(
            format!("{dir}/page-phone.png"),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
        c.close().await.unwrap();
    }
}
