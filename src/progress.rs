//! Progress of the long steps (packaging, upload, waiting): on a terminal,
//! one line redrawn in place with a bar; in CI or when stderr is not a
//! terminal, one plain line at most every interval (10 s), never a line
//! rewritten; nothing with `--quiet`. A small renderer of our own: a bar
//! crate would cost binary size for one redrawn line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::package::{human_bytes, Control};
use crate::report::output::ProgressMode;
use crate::report::Reporter;

/// How often the live line is redrawn.
const REDRAW: Duration = Duration::from_millis(100);

/// Width of the live bar, in cells.
const BAR: usize = 24;

/// What a step reports at each tick: a text, and how far it is (0..=1) when known.
pub struct Frame {
    pub text: String,
    pub fraction: Option<f64>,
}

/// Shows a step's progress until dropped; the live line is then taken off
/// the screen, so the next line (the step's result, or an error after
/// Ctrl-C) starts clean.
pub struct Ticker {
    task: Option<tokio::task::JoinHandle<()>>,
    reporter: Reporter,
}

impl Ticker {
    /// Ask `frame` (given the time since the start) for the progress at
    /// every tick.
    pub fn start(
        reporter: &Reporter,
        frame: impl Fn(Duration) -> Frame + Send + 'static,
    ) -> Ticker {
        let (period, live) = match reporter.progress_mode() {
            ProgressMode::Off => (None, false),
            ProgressMode::Lines(every) => (Some(every), false),
            ProgressMode::Live => (Some(REDRAW), true),
        };
        let task = period.map(|period| {
            let r = reporter.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let mut tick = tokio::time::interval_at((started + period).into(), period);
                loop {
                    tick.tick().await;
                    let f = frame(started.elapsed());
                    if live {
                        r.draw_live(&format!("{}{}", bar(f.fraction), f.text));
                    } else {
                        r.progress_line(&f.text);
                    }
                }
            })
        });
        Ticker {
            task,
            reporter: reporter.clone(),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.reporter.clear_live();
    }
}

/// `[#######·········] ` for a known fraction, nothing otherwise.
fn bar(fraction: Option<f64>) -> String {
    let Some(f) = fraction else {
        return String::new();
    };
    let full = ((f.clamp(0.0, 1.0)) * BAR as f64).round() as usize;
    format!("[{}{}] ", "#".repeat(full), "-".repeat(BAR - full))
}

/// `done` of `total` bytes as a rate over `elapsed`.
/// "upload throughput: 3.1 MiB/s": what `-v` prints after an upload of
/// `bytes` that took `took`.
pub fn throughput_line(bytes: u64, took: Duration) -> String {
    format!("upload throughput: {}", rate(bytes, took))
}

fn rate(done: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    format!("{}/s", human_bytes((done as f64 / secs) as u64))
}

fn percent(done: u64, total: u64) -> f64 {
    if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).min(1.0)
    }
}

/// "uploading: 45% (28.1 MiB of 62.7 MiB), 3.1 MiB/s, about 12s left".
pub fn upload_frame(sent: u64, total: u64, elapsed: Duration) -> Frame {
    let f = percent(sent, total);
    let left = if sent > 0 && sent < total {
        let secs = elapsed.as_secs_f64() * (total - sent) as f64 / sent as f64;
        format!(", about {}s left", secs.ceil() as u64)
    } else {
        String::new()
    };
    Frame {
        text: format!(
            "uploading: {:.0}% ({} of {}), {}{left}",
            f * 100.0,
            human_bytes(sent),
            human_bytes(total),
            rate(sent, elapsed)
        ),
        fraction: Some(f),
    }
}

/// "packaging: 1200 of 40000 files, 12.0 MiB of 200.0 MiB (6%), 30.1 MiB/s";
/// before the folder is listed, the totals are not known yet.
pub fn packaging_frame(
    files: u64,
    bytes: u64,
    totals: Option<(u64, u64)>,
    elapsed: Duration,
) -> Frame {
    match totals {
        Some((all_files, all_bytes)) => {
            let f = percent(bytes, all_bytes);
            Frame {
                text: format!(
                    "packaging: {files} of {all_files} files, {} of {} ({:.0}%), {}",
                    human_bytes(bytes),
                    human_bytes(all_bytes),
                    f * 100.0,
                    rate(bytes, elapsed)
                ),
                fraction: Some(f),
            }
        }
        None => Frame {
            text: format!(
                "packaging: {files} files, {} so far (folder not fully listed yet), {}",
                human_bytes(bytes),
                rate(bytes, elapsed)
            ),
            fraction: None,
        },
    }
}

/// Packaging's progress, from the counters of its `control`.
pub fn packaging_ticker(reporter: &Reporter, control: &Control) -> Ticker {
    let counts = control.counts();
    Ticker::start(reporter, move |elapsed| {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        let totals = counts
            .listed
            .load(Ordering::Relaxed)
            .then(|| (get(&counts.files_found), get(&counts.bytes_found)));
        packaging_frame(
            get(&counts.files_packed),
            get(&counts.bytes_packed),
            totals,
            elapsed,
        )
    })
}

/// "waiting: job 3 is RUNNING, 40s".
pub fn waiting_frame(job_id: &str, status: &str, elapsed: Duration) -> Frame {
    Frame {
        text: format!("waiting: job {job_id} is {status}, {}s", elapsed.as_secs()),
        fraction: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let mib = 1024 * 1024;
        let f = upload_frame(25 * mib, 100 * mib, Duration::from_secs(5));
        assert_eq!(
            f.text,
            "uploading: 25% (25.0 MiB of 100.0 MiB), 5.0 MiB/s, about 15s left"
        );
        assert_eq!(
            bar(f.fraction),
            format!("[{}{}] ", "#".repeat(6), "-".repeat(18))
        );
        let f = packaging_frame(3, mib, Some((10, 4 * mib)), Duration::from_secs(1));
        assert_eq!(
            f.text,
            "packaging: 3 of 10 files, 1.0 MiB of 4.0 MiB (25%), 1.0 MiB/s"
        );
        assert_eq!(bar(None), "");
        assert_eq!(
            upload_frame(0, 0, Duration::ZERO).text,
            "uploading: 100% (0 B of 0 B), 0 B/s"
        );
    }
}
