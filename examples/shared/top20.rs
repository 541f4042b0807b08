//! The twenty most frequent events of the benchmark corpus, counted by
//! typed handlers: shared by the benchmarks that compare typed dispatch
//! with a catch-all.

use std::rc::Rc;

use asterisk_io::ami::{events, Flow, Manager};

/// Registers a typed handler per event type that counts like `tick` and
/// stops the event there.
macro_rules! typed_counters {
    ($mgr:expr, $tick:expr, [$($ty:ident),* $(,)?]) => {$(
        let tick = $tick.clone();
        $mgr.on(events::$ty, move |_view, _ctx| {
            tick();
            Flow::Stop
        });
    )*};
}

/// Counts the twenty most frequent events of the corpus with `tick`, each
/// through its own typed handler.
pub fn count_top20(mgr: &mut Manager, tick: &Rc<dyn Fn()>) {
    typed_counters!(
        mgr,
        tick,
        [
            Newexten,
            DeviceStateChange,
            AGIExecStart,
            AGIExecEnd,
            VarSet,
            Hangup,
            Newchannel,
            Cdr,
            SoftHangupRequest,
            Newstate,
            SuccessfulAuth,
            HangupRequest,
            AsyncAGIExec,
            OriginateResponse,
            LocalBridge,
            DialEnd,
            DialBegin,
            NewConnectedLine,
            NewCallerid,
            UserEvent,
        ]
    );
}
