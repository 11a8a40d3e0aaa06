{{/*
The chart name, or nameOverride.
*/}}
{{- define "comprehend-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: fullnameOverride, or
<release>-<chart> (just <release> when it already holds the chart name),
at most 63 characters.
*/}}
{{- define "comprehend-operator.fullname" -}}
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
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "comprehend-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The standard labels of every object.
*/}}
{{- define "comprehend-operator.labels" -}}
helm.sh/chart: {{ include "comprehend-operator.chart" . }}
{{ include "comprehend-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: comprehend-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The labels that select the operator's pods.
*/}}
{{- define "comprehend-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "comprehend-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount the operator runs as.
*/}}
{{- define "comprehend-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "comprehend-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
"true" when the operator holds a Lease: asked for, or more than one replica.
*/}}
{{- define "comprehend-operator.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/*
The name of the Lease.
*/}}
{{- define "comprehend-operator.leaseName" -}}
{{- default (include "comprehend-operator.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
The operator's image.
*/}}
{{- define "comprehend-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The rules the operator needs on ClassificationJobs, DocumentClassifiers and
events, wherever it watches them. No wildcards, no secrets: delete is for
ttlSecondsAfterFinished, statuses are written by server-side apply (patch),
and the only write to a DocumentClassifier itself is a JSON patch adding or
removing the operator's finalizer (comprehend.operators.dev/classifier).
*/}}
{{- define "comprehend-operator.rules" -}}
- apiGroups: ["comprehend.operators.dev"]
  resources: ["classificationjobs"]
  verbs: ["get", "list", "watch", "delete"]
- apiGroups: ["comprehend.operators.dev"]
  resources: ["classificationjobs/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["comprehend.operators.dev"]
  resources: ["documentclassifiers"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["comprehend.operators.dev"]
  resources: ["documentclassifiers/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
The rule the operator needs on AccountMappings: read only. AccountMappings
are cluster-scoped, so this rule is always in a ClusterRole (also when
watchNamespaces narrows the rest to Roles). Both controllers list and watch
them cluster-wide and act on nothing before the first list is in (a mapped
namespace must never act with the operator's own identity): without this
rule the operator reconciles nothing. Only cluster admins write mappings;
the operator never creates, updates or deletes one.
*/}}
{{- define "comprehend-operator.accountMappingRules" -}}
- apiGroups: ["comprehend.operators.dev"]
  resources: ["accountmappings"]
  verbs: ["get", "list", "watch"]
{{- end }}
