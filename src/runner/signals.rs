//! What stops the server and what reloads it, from outside: signals on Unix, the console's
//! Ctrl-C on Windows.

/// Calls `stop` once on the first SIGINT or SIGTERM, and `reload` on every SIGHUP, from a
/// thread of their own.
#[cfg(unix)]
pub(super) fn on_stop_and_reload(
    stop: impl FnOnce() + Send + 'static,
    reload: impl Fn() + Send + 'static,
) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal == SIGHUP {
                reload();
            } else {
                log::info!("signal {signal} received");
                stop();
                return;
            }
        }
    });
    Ok(())
}

/// Calls `stop` once on the first Ctrl-C or Ctrl-Break. Windows has no SIGHUP: a new
/// certificate takes a restart there, so `reload` is never called.
#[cfg(not(unix))]
pub(super) fn on_stop_and_reload(
    stop: impl FnOnce() + Send + 'static,
    _reload: impl Fn() + Send + 'static,
) -> std::io::Result<()> {
    use crate::sync::Unpoisoned;
    let stop = std::sync::Mutex::new(Some(stop));
    ctrlc::set_handler(move || {
        log::info!("Ctrl-C received");
        if let Some(stop) = stop.lock().unpoisoned().take() {
            stop();
        }
    })
    .map_err(std::io::Error::other)
}
