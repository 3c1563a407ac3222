//! Work made in order, run on a pool, and taken back in that order: the
//! pipeline both the zip writer ([`super::write`]) and the tree digest
//! ([`super::digest`]) run on.
//!
//! One dispatcher thread makes the jobs as it walks (each with a cost) and
//! hands them to a rayon pool, tagged with a sequence number, after taking
//! their cost from a [`Budget`]; the calling thread takes the results back
//! strictly in sequence ([`InOrder`]) and gives the budget back as it
//! consumes them, which caps the work in flight. With `--threads 1` there
//! is no pool: each job runs on the calling thread when its turn comes.
//! When the consumer fails, the dispatcher stops and jobs not yet begun
//! are dropped.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};

use super::PackageError;

/// A unit of work, run on the pool.
pub(super) type Job<T> = Box<dyn FnOnce() -> T + Send>;

/// What makes the jobs, in order.
pub(super) trait Jobs: Send {
    /// What a job gives back.
    type Output: Send + 'static;
    /// What is said after the last job (the walk's warnings...).
    type End: Send + 'static;

    /// The next job and its cost in the budget; `None` when there are no
    /// more.
    fn next_job(&mut self) -> Option<(u64, Job<Self::Output>)>;

    /// Called once, after the last job.
    fn end(&mut self) -> Self::End;
}

/// What [`InOrder::next`] gives: a job's output, or the end.
pub(super) enum Msg<T, E> {
    Output(T),
    End(E),
}

type Sent<J> = (u64, Msg<<J as Jobs>::Output, <J as Jobs>::End>);

enum Source<J: Jobs> {
    /// Jobs running on the pool, results arriving in any order.
    Pool(mpsc::Receiver<Sent<J>>),
    /// `--threads 1`: each job runs here when its turn comes.
    Inline(J),
}

/// The results, in the order their jobs were made.
pub(super) struct InOrder<J: Jobs> {
    source: Source<J>,
    pending: BTreeMap<u64, Msg<J::Output, J::End>>,
    next: u64,
}

impl<J: Jobs> InOrder<J> {
    fn new(source: Source<J>) -> Self {
        InOrder {
            source,
            pending: BTreeMap::new(),
            next: 0,
        }
    }

    /// The next result; `None` when a job ended without one (the pool's
    /// side is gone: an internal error).
    pub(super) fn next(&mut self) -> Option<Msg<J::Output, J::End>> {
        let rx = match &mut self.source {
            Source::Pool(rx) => rx,
            Source::Inline(jobs) => {
                return Some(match jobs.next_job() {
                    Some((_, job)) => Msg::Output(job()),
                    None => Msg::End(jobs.end()),
                })
            }
        };
        loop {
            if let Some(msg) = self.pending.remove(&self.next) {
                self.next += 1;
                return Some(msg);
            }
            let (seq, msg) = rx.recv().ok()?;
            self.pending.insert(seq, msg);
        }
    }
}

/// The pool for `threads` (`None`: one thread per core), its threads
/// named `{name}-{i}`; none with `Some(1)`, where the jobs run inline.
pub(super) fn pool(
    threads: Option<usize>,
    name: &'static str,
) -> std::io::Result<Option<rayon::ThreadPool>> {
    if threads == Some(1) {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .thread_name(move |i| format!("{name}-{i}"))
        .build()
        .map(Some)
        .map_err(std::io::Error::other)
}

/// Run `jobs` on `pool` (on this thread without one) within `budget`,
/// handing their results in order to `consume`, which gives each result's
/// cost back to `budget`. Whichever side fails stops the other.
pub(super) fn run<J: Jobs, R>(
    jobs: J,
    pool: Option<&rayon::ThreadPool>,
    budget: &Budget,
    consume: impl FnOnce(InOrder<J>) -> Result<R, PackageError>,
) -> Result<R, PackageError> {
    let Some(pool) = pool else {
        return consume(InOrder::new(Source::Inline(jobs)));
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        let cancel_flag = &cancel;
        scope.spawn(move || dispatch(jobs, pool, budget, cancel_flag, tx));
        let result = consume(InOrder::new(Source::Pool(rx)));
        if result.is_err() {
            cancel.store(true, Ordering::Relaxed);
            budget.cancel();
        }
        result
    })
}

/// Run the jobs on the pool, in order, within the budget; results go to
/// `tx` tagged with their position, then the end.
fn dispatch<J: Jobs>(
    mut jobs: J,
    pool: &rayon::ThreadPool,
    budget: &Budget,
    cancel: &Arc<AtomicBool>,
    tx: mpsc::Sender<Sent<J>>,
) {
    let mut seq = 0u64;
    while let Some((cost, job)) = jobs.next_job() {
        if !budget.acquire(cost) {
            return;
        }
        let (tx, cancel) = (tx.clone(), Arc::clone(cancel));
        pool.spawn(move || {
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            // The receiver is gone only when the consumer already failed.
            let _ = tx.send((seq, Msg::Output(job())));
        });
        seq += 1;
    }
    let _ = tx.send((seq, Msg::End(jobs.end())));
}

/// The cost allowed in flight between dispatch and consumer.
pub(super) struct Budget {
    capacity: u64,
    state: Mutex<BudgetState>,
    changed: Condvar,
}

struct BudgetState {
    used: u64,
    cancelled: bool,
}

impl Budget {
    pub(super) fn new(capacity: u64) -> Self {
        Budget {
            capacity,
            state: Mutex::new(BudgetState {
                used: 0,
                cancelled: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// Wait until `cost` fits (a job larger than the whole budget runs
    /// alone); false once the consumer gave up.
    pub(super) fn acquire(&self, cost: u64) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !state.cancelled && state.used > 0 && state.used + cost > self.capacity {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.cancelled {
            return false;
        }
        state.used += cost;
        true
    }

    pub(super) fn release(&self, cost: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.used = state.used.saturating_sub(cost);
        self.changed.notify_all();
    }

    pub(super) fn cancel(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.cancelled = true;
        self.changed.notify_all();
    }
}
