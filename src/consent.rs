//! The visitor's choices, held once per module: whether splitbeam may store anything in this
//! browser (not with `data-consent="required"` until `splitbeam.consent(true)`), and whether it may
//! send events (also not under Do-Not-Track or Global Privacy Control with `data-respect-dnt`).
//! Identity, forced variants and delivery all ask it instead of keeping their own flag.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consent {
    granted: bool,
    do_not_track: bool,
}

impl Consent {
    /// `required`: the page asked for consent first (`data-consent="required"`); `do_not_track`:
    /// the page respects the browser's signal and the browser sends it.
    pub fn new(required: bool, do_not_track: bool) -> Consent {
        Consent { granted: !required, do_not_track }
    }

    /// The loader's `consent` option: "required" keeps everything in memory until granted.
    pub fn required_by(option: Option<String>) -> bool {
        option.as_deref() == Some("required")
    }

    /// May write to localStorage/sessionStorage.
    pub fn may_store(self) -> bool {
        self.granted
    }

    /// May send events to the collector.
    pub fn may_send(self) -> bool {
        self.granted && !self.do_not_track
    }

    /// `splitbeam.consent(granted)`.
    pub fn set(&mut self, granted: bool) {
        self.granted = granted;
    }
}
