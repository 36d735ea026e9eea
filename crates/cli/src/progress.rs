//! A progress bar on stderr for remote reads that take more than a moment (the formats library
//! reports bytes through its `Progress` hook and never prints itself).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use llmrig_formats::remote::{Progress, Transfer};

/// Shows a bar once a transfer has run for half a second; hidden when stderr is not a terminal.
#[derive(Default)]
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
}

impl Bar {
    /// A shareable hook.
    pub fn hook() -> Arc<dyn Progress> {
        Arc::new(Bar::default())
    }
}

impl Progress for Bar {
    fn update(&self, t: &Transfer<'_>) {
        let Ok(mut guard) = self.bar.lock() else {
            return;
        };
        if t.finished {
            if let Some(b) = guard.take() {
                b.finish_and_clear();
            }
            return;
        }
        if guard.is_none() && t.started.elapsed() > Duration::from_millis(500) {
            let b = ProgressBar::new(t.total_bytes);
            b.set_style(
                ProgressStyle::with_template(
                    "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let name = t.url.rsplit('/').next().unwrap_or(t.url);
            b.set_message(format!("reading {name}"));
            *guard = Some(b);
        }
        if let Some(b) = guard.as_ref() {
            b.set_position(t.done_bytes);
        }
    }
}
