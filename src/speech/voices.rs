//! Voices by name: `default` is [voice]; [voices.NAME] in the config names others
//! (any engine, each with its own speed, volume and pitch); and every Piper voice
//! dropped into the voices folder (NAME.onnx + NAME.onnx.json beside voice.model) is
//! a voice called NAME with [voice]'s settings. Shows, segments and inserted lines
//! pick one by name.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, bail};

use super::cache::SpeechCache;
use super::{Speaker, Utterance};
use crate::config::VoiceConfig;

use crate::config::DEFAULT_VOICE as DEFAULT;

#[derive(Debug, Clone)]
pub struct VoiceCatalog {
    pub default: VoiceConfig,
    pub named: BTreeMap<String, VoiceConfig>,
}

impl VoiceCatalog {
    pub fn new(default: &VoiceConfig, named: &BTreeMap<String, VoiceConfig>) -> VoiceCatalog {
        VoiceCatalog { default: default.clone(), named: named.clone() }
    }

    /// The voices folder: where the default voice's model lives.
    pub fn folder(&self) -> PathBuf {
        self.default.model.parent().unwrap_or(Path::new(".")).to_path_buf()
    }

    fn folder_voices(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.folder()) else { return Vec::new() };
        let mut names: Vec<String> = dir
            .filter_map(|e| {
                let path = e.ok()?.path();
                let name = path.file_name()?.to_str()?.strip_suffix(".onnx")?.to_string();
                path.with_extension("onnx.json").is_file().then_some(name)
            })
            .collect();
        names.sort();
        names
    }

    /// Every name a show or a line may use.
    pub fn names(&self) -> Vec<String> {
        let mut names = vec![DEFAULT.to_string()];
        names.extend(self.named.keys().cloned());
        names.extend(self.folder_voices().into_iter().filter(|n| !self.named.contains_key(n)));
        names
    }

    /// The settings of voice `name`, or an error that lists the voices there are.
    pub fn resolve(&self, name: &str) -> Result<VoiceConfig> {
        if name == DEFAULT {
            return Ok(self.default.clone());
        }
        if let Some(v) = self.named.get(name) {
            return Ok(v.clone());
        }
        let model = self.folder().join(format!("{name}.onnx"));
        if model.is_file() && model.with_extension("onnx.json").is_file() {
            return Ok(VoiceConfig { model, engine: crate::config::VoiceEngine::Piper, ..self.default.clone() });
        }
        bail!(
            "no voice `{name}`: name one of [voices.*] in the config, or drop {name}.onnx and {name}.onnx.json into {} (voices: {})",
            self.folder().display(),
            self.names().join(", ")
        )
    }
}

/// The speakers of one synthesis lane, loaded when first asked for (config-named
/// voices at start).
pub struct Voices {
    catalog: VoiceCatalog,
    cache: Arc<SpeechCache>,
    loaded: HashMap<String, Speaker>,
    /// Loaded with the first recorded line.
    clip_mouth_model: Option<Option<crate::lipsync::audio_model::SharedMouthModel>>,
}

impl Voices {
    /// Loads the default voice and every [voices.NAME] now: a bad one stops startup.
    pub fn load(catalog: VoiceCatalog, cache: Arc<SpeechCache>) -> Result<Voices> {
        let mut voices = Voices { catalog, cache, loaded: HashMap::new(), clip_mouth_model: None };
        let names: Vec<String> = std::iter::once(DEFAULT.to_string()).chain(voices.catalog.named.keys().cloned()).collect();
        for name in names {
            voices.speaker(&name).map_err(|e| anyhow::anyhow!("voice `{name}`: {e:#}"))?;
        }
        Ok(voices)
    }

    fn speaker(&mut self, name: &str) -> Result<&mut Speaker> {
        if !self.loaded.contains_key(name) {
            let config = self.catalog.resolve(name)?;
            let started = std::time::Instant::now();
            let speaker = Speaker::load(&config)?.with_cache(self.cache.clone());
            tracing::info!(voice = name, ms = started.elapsed().as_millis() as u64, "voice ready");
            self.loaded.insert(name.to_string(), speaker);
        }
        Ok(self.loaded.get_mut(name).expect("just loaded"))
    }

    /// Whether voice `name` knows where its words are (an HTTP voice does not).
    pub fn times_words(&self, name: Option<&str>) -> bool {
        self.catalog.resolve(name.unwrap_or(DEFAULT)).is_ok_and(|c| c.engine != crate::config::VoiceEngine::Http)
    }

    /// `sentence` from the word after its lead phrase `lead` (text::lead_phrase) on,
    /// captioned with the rest of the sentence. The lead was just said, so it comes
    /// from the speech cache; its word count is where the rest begins.
    pub fn speak_after(&mut self, name: Option<&str>, lead: &str, sentence: &str, product: &str) -> Result<Option<Utterance>> {
        let Some(whole) = self.speak(name, sentence, product)? else { return Ok(None) };
        let lead_words = self.speak(name, lead, product)?.map_or(0, |u| u.words.len());
        let caption = sentence.strip_prefix(lead).unwrap_or(sentence).trim();
        Ok(whole.from_word(lead_words, caption))
    }

    /// A recorded line, its mouth shapes found by [voice]'s mouth model.
    pub fn recorded(&mut self, path: &Path, caption: &str, product: &str) -> Result<Utterance> {
        let model = self.clip_mouth_model.get_or_insert_with(|| super::mouth_model(&self.catalog.default));
        super::clip::load(path, caption, product, model.as_ref())
    }

    /// Speaks in voice `name` (None: the default); a voice that cannot be had falls
    /// back to the default, so the stream never goes quiet over it.
    pub fn speak(&mut self, name: Option<&str>, text: &str, product: &str) -> Result<Option<Utterance>> {
        let name = name.unwrap_or(DEFAULT);
        let result = self.speaker(name).and_then(|s| s.speak(text, product));
        match result {
            Ok(u) => Ok(u.map(|u| Utterance { voice: name.to_string(), ..u })),
            Err(e) if name != DEFAULT => {
                tracing::error!(voice = name, "voice failed, the default voice says the line: {e:#}");
                self.speaker(DEFAULT)?.speak(text, product)
            }
            Err(e) => Err(e),
        }
    }
}
