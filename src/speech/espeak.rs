//! Text to IPA phonemes through libespeak-ng, loaded at run time so that `avatarcast
//! check` can report a missing library instead of the loader refusing to start.
//! espeak-ng keeps global state and is not thread-safe: one instance per process,
//! behind a mutex.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result, bail};

type InitializeFn = unsafe extern "C" fn(output: c_int, buflength: c_int, path: *const c_char, options: c_int) -> c_int;
type SetVoiceByNameFn = unsafe extern "C" fn(name: *const c_char) -> c_int;
type TextToPhonemesFn = unsafe extern "C" fn(textptr: *mut *const c_void, textmode: c_int, phonememode: c_int) -> *const c_char;

const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
const ESPEAK_CHARS_UTF8: c_int = 1;
const ESPEAK_PHONEMES_IPA: c_int = 0x02;
pub const LIBRARY: &str = "libespeak-ng.so.1";

struct Espeak {
    _lib: libloading::Library,
    set_voice: SetVoiceByNameFn,
    text_to_phonemes: TextToPhonemesFn,
    voice: String,
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
        if init(AUDIO_OUTPUT_SYNCHRONOUS, 0, std::ptr::null(), 0) < 0 {
            bail!("espeak-ng failed to initialize: its data is missing; install it with `bash scripts/setup.sh` (Debian package espeak-ng-data)");
        }
        Ok(Espeak { _lib: lib, set_voice, text_to_phonemes, voice: String::new() })
    }
}

/// True when libespeak-ng loads and finds its data.
pub fn available() -> Result<()> {
    instance().map(|_| ())
}

/// IPA phonemes for `text` in the espeak-ng voice `voice` (e.g. "en-us"), with clause
/// punctuation kept the way Piper voices were trained on: "hello, world." ->
/// "həlˈoʊ, wˈɜːld."
pub fn phonemize(voice: &str, text: &str) -> Result<String> {
    let mut es = instance()?.lock().unwrap_or_else(|p| p.into_inner());
    if es.voice != voice {
        let name = CString::new(voice)?;
        // SAFETY: valid C string; guarded by the mutex.
        if unsafe { (es.set_voice)(name.as_ptr()) } != 0 {
            bail!("espeak-ng has no voice `{voice}` (from the voice's .onnx.json `espeak.voice`)");
        }
        es.voice = voice.to_string();
    }
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
    fn english_text_becomes_ipa() {
        let ipa = phonemize("en-us", "Hello, world.").unwrap();
        assert!(ipa.contains("həl") && ipa.contains(", ") && ipa.ends_with('.'), "{ipa}");
    }
}
