{{/*
The chart name, shortened to the 63 characters of a Kubernetes label value.
*/}}
{{- define "podsession-controller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: the release name, followed by the chart
name unless the release name already contains it.
*/}}
{{- define "podsession-controller.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Labels that select the controller pods. They never change across upgrades,
because a Deployment's selector is immutable.
*/}}
{{- define "podsession-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podsession-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of every object the chart renders.
*/}}
{{- define "podsession-controller.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "podsession-controller.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: controller
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The ServiceAccount the controller runs as.
*/}}
{{- define "podsession-controller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "podsession-controller.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
"true" when the controller runs with --leader-elect: always with more than one
replica, because two controllers acting at once could create two pods for one
session.
*/}}
{{- define "podsession-controller.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/*
The Secret and key holding the RunPod API key, as a dict; empty when there is
no key (the controller then exits with a message naming RUNPOD_API_KEY).
*/}}
{{- define "podsession-controller.apiKeySecret" -}}
{{- if .Values.runpod.existingSecret.name }}
name: {{ .Values.runpod.existingSecret.name }}
key: {{ required "runpod.existingSecret.key is required with runpod.existingSecret.name" .Values.runpod.existingSecret.key }}
{{- else if .Values.runpod.apiKey }}
name: {{ include "podsession-controller.fullname" . }}-runpod
key: apiKey
{{- end }}
{{- end }}

{{/*
Rejects values that would render a controller that cannot run as configured.
*/}}
{{- define "podsession-controller.validate" -}}
{{- if not (regexMatch "^[a-z0-9]{1,16}$" (toString .Values.controller.id)) }}
{{- fail (printf "controller.id %q is invalid: use 1 to 16 lowercase letters and digits, without dashes" (toString .Values.controller.id)) }}
{{- end }}
{{- if not (has .Values.controller.provider (list "runpod" "simulated")) }}
{{- fail (printf "controller.provider %q is invalid: use runpod or simulated" (toString .Values.controller.provider)) }}
{{- end }}
{{- if and .Values.runpod.apiKey .Values.runpod.existingSecret.name }}
{{- fail "runpod.apiKey and runpod.existingSecret.name are both set: keep only one source for the API key" }}
{{- end }}
{{- end }}
