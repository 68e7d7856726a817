//! Speech cache: a synthesized sentence is kept under what determines it (engine,
//! voice file, voice parameters, the normalized text), in memory and on disk, each
//! with a size limit and least-recently-used eviction. A looping show synthesizes
//! each of its lines once; a restart finds them on disk.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::phoneme::PhonemeSpan;

/// Bumped whenever what is stored (or how it is made) changes.
const FORMAT: &[u8; 8] = b"ACSPCH01";

/// The audio and timings of one sentence: all an utterance is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedSpeech {
    pub samples: Vec<i16>,
    pub phonemes: Vec<PhonemeSpan>,
}

impl CachedSpeech {
    fn bytes(&self) -> usize {
        self.samples.len() * 2 + self.phonemes.len() * 12
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes() + 16);
        out.extend_from_slice(FORMAT);
        out.extend_from_slice(&(self.phonemes.len() as u32).to_le_bytes());
        for p in &self.phonemes {
            for v in [p.phoneme as u32, p.start, p.end] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out.extend_from_slice(&(self.samples.len() as u32).to_le_bytes());
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    fn decode(data: &[u8]) -> Option<CachedSpeech> {
        let mut r = data.strip_prefix(FORMAT)?;
        let u32_at = |r: &mut &[u8]| -> Option<u32> {
            let (head, rest) = r.split_first_chunk::<4>()?;
            *r = rest;
            Some(u32::from_le_bytes(*head))
        };
        let n = u32_at(&mut r)? as usize;
        let mut phonemes = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            let (c, start, end) = (u32_at(&mut r)?, u32_at(&mut r)?, u32_at(&mut r)?);
            phonemes.push(PhonemeSpan { phoneme: char::from_u32(c)?, start, end });
        }
        let m = u32_at(&mut r)? as usize;
        if r.len() != m * 2 {
            return None;
        }
        let samples = r.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        Some(CachedSpeech { samples, phonemes })
    }
}

/// A stable 128-bit key (two FNV-1a hashes): the same on every build and machine.
pub fn key(parts: &[&str]) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            a = (a ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
            b = (b ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3).rotate_left(5);
        }
    }
    format!("{a:016x}{b:016x}")
}

struct Memory {
    entries: HashMap<String, (Arc<CachedSpeech>, u64)>,
    bytes: usize,
    clock: u64,
}

pub struct SpeechCache {
    memory: Mutex<Memory>,
    memory_limit: usize,
    dir: Option<PathBuf>,
    disk_limit: u64,
    disk_bytes: AtomicU64,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl SpeechCache {
    /// The cache a voice config asks for: memory, and a folder unless `cache_dir` is
    /// "" or `cache_disk_mb` 0.
    pub fn for_voice(config: &crate::config::VoiceConfig) -> SpeechCache {
        let dir = (!config.cache_dir.as_os_str().is_empty() && config.cache_disk_mb > 0).then(|| config.cache_dir.clone());
        SpeechCache::new(config.cache_memory_mb as usize * 1024 * 1024, dir, u64::from(config.cache_disk_mb) * 1024 * 1024)
    }

    /// `dir` None: memory only.
    pub fn new(memory_limit: usize, dir: Option<PathBuf>, disk_limit: u64) -> SpeechCache {
        let dir = dir.filter(|d| match std::fs::create_dir_all(d) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("speech cache folder {} cannot be used ({e}); caching in memory only", d.display());
                false
            }
        });
        let disk_bytes = dir.as_deref().map(|d| files(d).iter().map(|(_, len, _)| len).sum()).unwrap_or(0);
        SpeechCache {
            memory: Mutex::new(Memory { entries: HashMap::new(), bytes: 0, clock: 0 }),
            memory_limit,
            dir,
            disk_limit,
            disk_bytes: AtomicU64::new(disk_bytes),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn memory_bytes(&self) -> usize {
        self.memory.lock().map(|m| m.bytes).unwrap_or(0)
    }

    pub fn disk_bytes(&self) -> u64 {
        self.disk_bytes.load(Ordering::Relaxed)
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{key}.speech")))
    }

    /// The sentence under `key`, from memory or disk; counts a hit or a miss.
    pub fn get(&self, key: &str) -> Option<Arc<CachedSpeech>> {
        let found = self.from_memory(key).or_else(|| {
            let path = self.path(key)?;
            let mut data = Vec::new();
            std::fs::File::open(&path).ok()?.read_to_end(&mut data).ok()?;
            match CachedSpeech::decode(&data) {
                Some(speech) => {
                    // Recently used on disk too, for eviction.
                    let _ = std::fs::File::options().write(true).open(&path).and_then(|f| f.set_modified(SystemTime::now()));
                    let speech = Arc::new(speech);
                    self.remember(key, speech.clone());
                    Some(speech)
                }
                None => {
                    tracing::warn!("speech cache file {} is damaged; synthesizing again", path.display());
                    let _ = std::fs::remove_file(&path);
                    None
                }
            }
        });
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn from_memory(&self, key: &str) -> Option<Arc<CachedSpeech>> {
        let mut m = self.memory.lock().ok()?;
        m.clock += 1;
        let now = m.clock;
        let (speech, used) = m.entries.get_mut(key)?;
        *used = now;
        Some(speech.clone())
    }

    fn remember(&self, key: &str, speech: Arc<CachedSpeech>) {
        let Ok(mut m) = self.memory.lock() else { return };
        let size = speech.bytes();
        if size > self.memory_limit {
            return;
        }
        m.clock += 1;
        let now = m.clock;
        if let Some((old, _)) = m.entries.insert(key.to_string(), (speech, now)) {
            m.bytes -= old.bytes();
        }
        m.bytes += size;
        while m.bytes > self.memory_limit {
            let Some(oldest) = m.entries.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone()) else { break };
            if let Some((gone, _)) = m.entries.remove(&oldest) {
                m.bytes -= gone.bytes();
            }
        }
    }

    /// Keeps a freshly synthesized sentence, in memory and on disk.
    pub fn put(&self, key: &str, speech: CachedSpeech) -> Arc<CachedSpeech> {
        let speech = Arc::new(speech);
        self.remember(key, speech.clone());
        if let Some(path) = self.path(key) {
            let data = speech.encode();
            // Written whole, then renamed: a crash never leaves half a file under the key.
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(&data)).and_then(|()| std::fs::rename(&tmp, &path));
            match written {
                Ok(()) => {
                    let total = self.disk_bytes.fetch_add(data.len() as u64, Ordering::Relaxed) + data.len() as u64;
                    if total > self.disk_limit {
                        self.evict_disk();
                    }
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    tracing::warn!("speech cache: cannot write {} ({e})", path.display());
                }
            }
        }
        speech
    }

    /// Removes the least recently used files until the folder is 90 % of its limit.
    fn evict_disk(&self) {
        let Some(dir) = &self.dir else { return };
        let mut all = files(dir);
        all.sort_by_key(|(_, _, modified)| *modified);
        let mut total: u64 = all.iter().map(|(_, len, _)| len).sum();
        for (path, len, _) in all {
            if total <= self.disk_limit / 10 * 9 {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
        self.disk_bytes.store(total, Ordering::Relaxed);
    }
}

/// Cache files in `dir`: (path, size, last used).
fn files(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let path = e.path();
            if path.extension()? != "speech" {
                return None;
            }
            let meta = e.metadata().ok()?;
            Some((path, meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speech(n: usize) -> CachedSpeech {
        CachedSpeech {
            samples: (0..n).map(|i| i as i16).collect(),
            phonemes: vec![PhonemeSpan { phoneme: 'ə', start: 0, end: n as u32 }],
        }
    }

    #[test]
    fn keys_are_stable_and_tell_inputs_apart() {
        assert_eq!(key(&["piper", "joe", "hello"]), key(&["piper", "joe", "hello"]));
        assert_ne!(key(&["piper", "joe", "hello"]), key(&["piper", "joe", "hello."]));
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
        assert_eq!(key(&["piper"]).len(), 32);
    }

    #[test]
    fn memory_evicts_the_least_recently_used() {
        let cache = SpeechCache::new(2 * 1000 * 2 + 100, None, 0);
        cache.put("a", speech(1000));
        cache.put("b", speech(1000));
        assert!(cache.get("a").is_some()); // a is now newer than b
        cache.put("c", speech(1000));
        assert!(cache.get("b").is_none() && cache.get("a").is_some() && cache.get("c").is_some());
        assert_eq!((cache.hits.load(Ordering::Relaxed), cache.misses.load(Ordering::Relaxed)), (3, 1));
    }

    #[test]
    fn disk_keeps_speech_across_restarts_within_its_limit() {
        let dir = std::env::temp_dir().join(format!("avatarcast-speech-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let one = speech(5000).encode().len() as u64;
        {
            let cache = SpeechCache::new(1 << 20, Some(dir.clone()), one * 3);
            for k in ["a", "b", "c", "d"] {
                cache.put(k, speech(5000));
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            assert!(cache.disk_bytes() <= one * 3);
        }
        // A new process: nothing in memory, the newest files on disk.
        let cache = SpeechCache::new(1 << 20, Some(dir.clone()), one * 3);
        assert_eq!(cache.get("d").as_deref(), Some(&speech(5000)));
        assert!(cache.get("a").is_none(), "the oldest file was evicted");
        // A damaged file is a miss, not an error.
        std::fs::write(dir.join(format!("{}.speech", "x")), b"ACSPCH01junk").unwrap();
        assert!(cache.get("x").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
