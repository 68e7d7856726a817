{{/* Objects of a channel are named avatarcast-<channel>. */}}
{{- define "avatarcast.fullname" -}}
{{- printf "avatarcast-%s" .ch.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "avatarcast.selector" -}}
app.kubernetes.io/name: avatarcast
app.kubernetes.io/instance: {{ .root.Release.Name }}
avatarcast.io/channel: {{ .ch.name }}
{{- end -}}

{{- define "avatarcast.labels" -}}
{{ include "avatarcast.selector" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* The channel's avatarcast config: its own (or the fleet's) TOML, then what the
chart owns: the show, the API (token from a Secret) and the outputs (stream keys
from Secrets, through environment variables). */}}
{{- define "avatarcast.config" -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .ch.name) -}}
{{- fail (printf "channels: name %q must be a DNS label (lower-case letters, digits, -)" .ch.name) -}}
{{- end -}}
{{- if and (not .ch.rtmp) (not .ch.files) -}}
{{- fail (printf "channels[%s]: give it at least one output (rtmp or files)" .ch.name) -}}
{{- end -}}
{{ .ch.config | default .root.Values.defaultConfig }}
[show]
file = {{ if .ch.show }}"/etc/avatarcast/show.toml"{{ else }}"config/demo-show.toml"{{ end }}
transcript = "/var/lib/avatarcast/transcript.jsonl"

[api]
listen = "0.0.0.0:{{ .root.Values.service.port }}"
token_env = "AVATARCAST_API_TOKEN"
{{- range $i, $o := .ch.rtmp }}
{{- if not $o.keySecret }}
{{- fail (printf "channels[%s].rtmp[%d]: give keySecret {name, key}: stream keys come from Secrets" $.ch.name $i) }}
{{- end }}

[[output.rtmp]]
url = {{ $o.url | quote }}
key_env = "AVATARCAST_STREAM_KEY_{{ $i }}"
{{- end }}
{{- range .ch.files }}

[[output.file]]
path = {{ .path | quote }}
# Numbered files from the first free index: a restarted pod never overwrites one.
split_minutes = {{ .split_minutes | default 30 }}
{{- end }}
{{- end -}}
