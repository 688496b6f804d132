//! Ctrl-C during a long command: the first asks it to wind down (finish what is running, write
//! what finished), a second quits at once with 130, as a shell expects of an interrupted command.

use std::sync::{Arc, Condvar, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Interrupted,
    Released,
}

/// Watches for SIGINT from start until released.
#[derive(Clone)]
pub struct Watch {
    state: Arc<(Mutex<State>, Condvar)>,
}

impl Watch {
    /// Starts watching. Until then (and where signals cannot be watched) Ctrl-C kills as usual.
    pub fn start() -> Watch {
        let watch = Watch {
            state: Arc::new((Mutex::new(State::Waiting), Condvar::new())),
        };
        let signalled = watch.clone();
        std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                signalled.set(State::Interrupted);
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("jpki-sim: interrupted again: quitting");
                    std::process::exit(130);
                }
            });
        });
        watch
    }

    fn set(&self, to: State) {
        let (state, changed) = &*self.state;
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        if *state == State::Waiting {
            *state = to;
        }
        changed.notify_all();
    }

    /// Blocks until Ctrl-C (`true`) or [`Watch::release`] (`false`).
    pub fn wait(&self) -> bool {
        let (state, changed) = &*self.state;
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        while *state == State::Waiting {
            state = changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        *state == State::Interrupted
    }

    /// The command is done: whoever waits stops waiting.
    pub fn release(&self) {
        self.set(State::Released);
    }

    /// Whether Ctrl-C came before the release.
    pub fn happened(&self) -> bool {
        let (state, _) = &*self.state;
        *state.lock().unwrap_or_else(|e| e.into_inner()) == State::Interrupted
    }
}
