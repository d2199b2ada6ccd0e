//! Third-party decoders (the `parquet` and `dta` crates) run under [`quietly`]: a panic inside
//! them on a damaged file becomes a value the reader turns into a data error naming the file,
//! instead of exit 101 and a backtrace (issue #19). Panics elsewhere, and on other threads,
//! still reach the default hook: they are bugs and must be seen.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Runs `f`; a panic inside it is caught and returned as its message, without the panic hook's
/// printout on this thread. The caller must treat everything `f` built as lost (only owned
/// values cross the boundary, so no half-updated state escapes).
pub fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "an internal error".into())
    })
}
