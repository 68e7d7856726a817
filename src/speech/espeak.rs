//! libespeak-ng, loaded at run time so that `avatarcast check` can report a missing
//! library instead of the loader refusing to start. Two uses: text to IPA phonemes
//! for Piper voices, and a voice of its own for every language espeak-ng speaks
//! (Mandarin `cmn` included), timed by its own phoneme events. espeak-ng keeps
//! global state and is not thread-safe: one instance per process, behind a mutex.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_short, c_uint, c_void};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result, bail};

use crate::phoneme::PhonemeSpan;
use crate::lipsync::visemes::{Shape, mouth_for};

type InitializeFn = unsafe extern "C" fn(output: c_int, buflength: c_int, path: *const c_char, options: c_int) -> c_int;
type SetVoiceByNameFn = unsafe extern "C" fn(name: *const c_char) -> c_int;
type TextToPhonemesFn = unsafe extern "C" fn(textptr: *mut *const c_void, textmode: c_int, phonememode: c_int) -> *const c_char;
type SynthCallback = unsafe extern "C" fn(wav: *mut c_short, numsamples: c_int, events: *mut Event) -> c_int;
type SetSynthCallbackFn = unsafe extern "C" fn(callback: SynthCallback);
type SynthFn = unsafe extern "C" fn(
    text: *const c_void,
    size: usize,
    position: c_uint,
    position_type: c_int,
    end_position: c_uint,
    flags: c_uint,
    unique_identifier: *mut c_uint,
    user_data: *mut c_void,
) -> c_int;
type SetParameterFn = unsafe extern "C" fn(parameter: c_int, value: c_int, relative: c_int) -> c_int;

/// espeak_EVENT from speak_lib.h.
#[repr(C)]
struct Event {
    kind: c_int,
    unique_identifier: c_uint,
    text_position: c_int,
    length: c_int,
    /// Milliseconds into this synthesis' audio.
    audio_position: c_int,
    sample: c_int,
    user_data: *mut c_void,
    /// Phoneme name (IPA, UTF-8, NUL-terminated unless 8 bytes long) for phoneme events.
    id: [u8; 8],
}

const EVENT_LIST_TERMINATED: c_int = 0;
const EVENT_PHONEME: c_int = 7;
const POS_CHARACTER: c_int = 1;
const PARAM_RATE: c_int = 1;
const PARAM_VOLUME: c_int = 2;
const PARAM_PITCH: c_int = 3;
/// espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_PHONEME_IPA
const INIT_PHONEME_EVENTS_IPA: c_int = 0x0001 | 0x0002;

const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
const ESPEAK_CHARS_UTF8: c_int = 1;
const ESPEAK_PHONEMES_IPA: c_int = 0x02;
pub const LIBRARY: &str = "libespeak-ng.so.1";

struct Espeak {
    _lib: libloading::Library,
    set_voice: SetVoiceByNameFn,
    text_to_phonemes: TextToPhonemesFn,
    synth: SynthFn,
    set_parameter: SetParameterFn,
    voice: String,
    sample_rate: u32,
}

// The raw function pointers are only called under the mutex.
unsafe impl Send for Espeak {}

static ESPEAK: OnceLock<Result<Mutex<Espeak>, String>> = OnceLock::new();

fn instance() -> Result<&'static Mutex<Espeak>> {
    ESPEAK
        .get_or_init(|| load().map(Mutex::new).map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn load() -> Result<Espeak> {
    // SAFETY: loading a well-known C library whose initializers have no preconditions.
    let lib = unsafe { libloading::Library::new(LIBRARY) }
        .with_context(|| format!("cannot load {LIBRARY}: install it with `bash scripts/setup.sh` (Debian package libespeak-ng1)"))?;
    // SAFETY: the signatures match espeak-ng's speak_lib.h.
    unsafe {
        let init: InitializeFn = *lib.get(b"espeak_Initialize\0")?;
        let set_voice: SetVoiceByNameFn = *lib.get(b"espeak_SetVoiceByName\0")?;
        let text_to_phonemes: TextToPhonemesFn = *lib.get(b"espeak_TextToPhonemes\0")?;
        let set_callback: SetSynthCallbackFn = *lib.get(b"espeak_SetSynthCallback\0")?;
        let synth: SynthFn = *lib.get(b"espeak_Synth\0")?;
        let set_parameter: SetParameterFn = *lib.get(b"espeak_SetParameter\0")?;
        let rate = init(AUDIO_OUTPUT_SYNCHRONOUS, 0, std::ptr::null(), INIT_PHONEME_EVENTS_IPA);
        if rate <= 0 {
            bail!("espeak-ng failed to initialize: its data is missing; install it with `bash scripts/setup.sh` (Debian package espeak-ng-data)");
        }
        set_callback(collect);
        Ok(Espeak { _lib: lib, set_voice, text_to_phonemes, synth, set_parameter, voice: String::new(), sample_rate: rate as u32 })
    }
}

/// The rate espeak-ng speaks at.
pub fn sample_rate() -> Result<u32> {
    Ok(instance()?.lock().unwrap_or_else(|p| p.into_inner()).sample_rate)
}

/// True when libespeak-ng loads and finds its data.
pub fn available() -> Result<()> {
    instance().map(|_| ())
}

impl Espeak {
    fn use_voice(&mut self, voice: &str) -> Result<()> {
        if self.voice != voice {
            let name = CString::new(voice)?;
            // SAFETY: valid C string; guarded by the mutex.
            if unsafe { (self.set_voice)(name.as_ptr()) } != 0 {
                bail!("espeak-ng has no voice `{voice}` (`espeak-ng --voices` lists them)");
            }
            self.voice = voice.to_string();
        }
        Ok(())
    }
}

/// What the synthesis callback gathers (it runs on the calling thread: synchronous mode).
#[derive(Default)]
struct Collected {
    samples: Vec<i16>,
    /// (milliseconds, IPA phoneme) at each phoneme's start.
    phonemes: Vec<(u32, String)>,
}

thread_local! {
    static COLLECTED: RefCell<Collected> = RefCell::new(Collected::default());
}

unsafe extern "C" fn collect(wav: *mut c_short, numsamples: c_int, events: *mut Event) -> c_int {
    COLLECTED.with_borrow_mut(|c| {
        if !wav.is_null() && numsamples > 0 {
            // SAFETY: espeak passes `numsamples` valid samples.
            c.samples.extend_from_slice(unsafe { std::slice::from_raw_parts(wav, numsamples as usize) });
        }
        let mut e = events;
        // SAFETY: the event list ends with a LIST_TERMINATED entry.
        while !e.is_null() && unsafe { (*e).kind } != EVENT_LIST_TERMINATED {
            let ev = unsafe { &*e };
            if ev.kind == EVENT_PHONEME {
                let len = ev.id.iter().position(|b| *b == 0).unwrap_or(8);
                let name = String::from_utf8_lossy(&ev.id[..len]).into_owned();
                c.phonemes.push((ev.audio_position.max(0) as u32, name));
            }
            e = unsafe { e.add(1) };
        }
    });
    0
}

/// espeak-ng's own speech: samples at `sample_rate` and its phonemes, tiling them.
pub struct Spoken {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
    pub phonemes: Vec<PhonemeSpan>,
}

/// espeak-ng's phoneme events (start sample, IPA name) as spans that tile `len`
/// samples: silence before the first, each phoneme up to the next. A name is
/// represented by its first character that shapes the mouth ("ˈa" -> 'a').
fn spans(events: &[(u32, String)], len: u32) -> Vec<PhonemeSpan> {
    let mut spans = Vec::with_capacity(events.len() + 1);
    let first = events.first().map(|(s, _)| (*s).min(len)).unwrap_or(len);
    if first > 0 {
        spans.push(PhonemeSpan { phoneme: '_', start: 0, end: first });
    }
    for (i, (start, name)) in events.iter().enumerate() {
        let end = events.get(i + 1).map(|(s, _)| *s).unwrap_or(len).min(len);
        let start = (*start).min(end);
        let phoneme = name
            .chars()
            .find(|c| matches!(mouth_for(*c), Shape::Mouth(_) | Shape::Pause))
            .unwrap_or('_');
        if end > start {
            spans.push(PhonemeSpan { phoneme, start, end });
        }
    }
    spans
}


/// Speaks `text` with espeak-ng voice `voice`: `rate` in words per minute (espeak's
/// default is 175), `pitch` 0-100 (50), `volume` 0-200 (100).
pub fn speak(voice: &str, text: &str, rate: u32, pitch: u32, volume: u32) -> Result<Spoken> {
    let mut es = instance()?.lock().unwrap_or_else(|p| p.into_inner());
    es.use_voice(voice)?;
    let c_text = CString::new(text).context("text contains a NUL byte")?;
    COLLECTED.with_borrow_mut(|c| *c = Collected::default());
    // SAFETY: parameters as speak_lib.h documents them; guarded by the mutex; the
    // callback fills COLLECTED on this thread before espeak_Synth returns.
    let status = unsafe {
        (es.set_parameter)(PARAM_RATE, rate as c_int, 0);
        (es.set_parameter)(PARAM_PITCH, pitch as c_int, 0);
        (es.set_parameter)(PARAM_VOLUME, volume as c_int, 0);
        (es.synth)(
            c_text.as_ptr().cast(),
            text.len() + 1,
            0,
            POS_CHARACTER,
            0,
            ESPEAK_CHARS_UTF8 as c_uint,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if status != 0 {
        bail!("espeak-ng could not speak this line (error {status})");
    }
    let collected = COLLECTED.with_borrow_mut(std::mem::take);
    let rate_hz = es.sample_rate;
    let events: Vec<(u32, String)> =
        collected.phonemes.into_iter().map(|(ms, p)| ((u64::from(ms) * u64::from(rate_hz) / 1000) as u32, p)).collect();
    let phonemes = spans(&events, collected.samples.len() as u32);
    Ok(Spoken { sample_rate: rate_hz, samples: collected.samples, phonemes })
}

/// IPA phonemes for `text` in the espeak-ng voice `voice` (e.g. "en-us"), with clause
/// punctuation kept the way Piper voices were trained on: "hello, world." ->
/// "həlˈoʊ, wˈɜːld."
pub fn phonemize(voice: &str, text: &str) -> Result<String> {
    let mut es = instance()?.lock().unwrap_or_else(|p| p.into_inner());
    es.use_voice(voice)?;
    let clauses = split_clauses(text);
    let mut out = String::new();
    for (i, (body, punct)) in clauses.iter().enumerate() {
        let c_text = CString::new(body.as_str()).context("text contains a NUL byte")?;
        let mut ptr: *const c_void = c_text.as_ptr().cast();
        let mut parts = Vec::new();
        while !ptr.is_null() {
            // SAFETY: ptr points into c_text, which outlives the loop; espeak advances it or sets it to NULL.
            let ph = unsafe { (es.text_to_phonemes)(&mut ptr, ESPEAK_CHARS_UTF8, ESPEAK_PHONEMES_IPA) };
            if ph.is_null() {
                break;
            }
            // SAFETY: espeak returns a NUL-terminated string valid until the next call.
            let s = unsafe { CStr::from_ptr(ph) }.to_string_lossy().trim().to_string();
            if !s.is_empty() {
                parts.push(s);
            }
        }
        out.push_str(&parts.join(" "));
        if let Some(p) = punct {
            out.push(*p);
        }
        if i + 1 < clauses.len() {
            out.push(' ');
        }
    }
    Ok(out)
}

/// Splits at clause punctuation (what espeak stops at), returning each clause's text and
/// the punctuation that ended it.
fn split_clauses(text: &str) -> Vec<(String, Option<char>)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let punct = match c {
            '，' | '、' => Some(','),
            '。' => Some('.'),
            '！' => Some('!'),
            '？' => Some('?'),
            '；' => Some(';'),
            '：' => Some(':'),
            ',' | ';' | ':' | '.' | '!' | '?' if chars.peek().is_none_or(|n| n.is_whitespace()) => Some(c),
            _ => None,
        };
        match punct {
            Some(p) => {
                if !cur.trim().is_empty() {
                    out.push((cur.trim().to_string(), Some(p)));
                }
                cur.clear();
            }
            None => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push((cur.trim().to_string(), None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_keep_their_punctuation() {
        assert_eq!(
            split_clauses("Hello, world. It costs $19.99!"),
            vec![("Hello".into(), Some(',')), ("world".into(), Some('.')), ("It costs $19.99".into(), Some('!'))]
        );
    }

    #[test]
    fn espeak_speaks_mandarin_with_its_own_phoneme_timings() {
        let s = speak("cmn", "欢迎来到直播间，今天特价。", 175, 50, 100).unwrap();
        let seconds = s.samples.len() as f64 / s.sample_rate as f64;
        assert!(seconds > 1.0 && s.samples.iter().any(|v| v.abs() > 3000), "{seconds} s");
        assert!(s.phonemes.len() > 10, "{:?}", s.phonemes);
        assert!(s.phonemes.windows(2).all(|w| w[0].end == w[1].start) && s.phonemes.last().unwrap().end == s.samples.len() as u32);
        // Then English again from the same instance.
        let e = speak("en-us", "Hello there.", 175, 50, 100).unwrap();
        assert!(e.phonemes.iter().any(|p| p.phoneme == 'h'), "{:?}", e.phonemes);
    }

    #[test]
    fn english_text_becomes_ipa() {
        let ipa = phonemize("en-us", "Hello, world.").unwrap();
        assert!(ipa.contains("həl") && ipa.contains(", ") && ipa.ends_with('.'), "{ipa}");
    }
}
