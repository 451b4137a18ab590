{{/*
Names. The full name is "<release>" when the release name already contains the chart name,
else "<release>-<chart>", capped at 63 characters (a label value / DNS label).
*/}}
{{- define "tidewater.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tidewater.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Name of cluster-scoped objects (ClusterRole, ClusterRoleBinding): the release namespace plus
the full name, so two releases of the same name in different namespaces never collide.
*/}}
{{- define "tidewater.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "tidewater.fullname" .) | trunc 253 | trimSuffix "-" -}}
{{- end -}}

{{- define "tidewater.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tidewater.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tidewater.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tidewater.labels" -}}
helm.sh/chart: {{ include "tidewater.chart" . }}
{{ include "tidewater.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tidewater
{{- end -}}

{{- define "tidewater.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tidewater.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tidewater.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "tidewater.leaderElectionNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace -}}
{{- end -}}

{{- define "tidewater.leaderElectionName" -}}
{{- default (include "tidewater.fullname" .) .Values.leaderElection.name -}}
{{- end -}}

{{/*
The rules the operator needs in the namespaces it watches (docs/rbac.md explains each one).
Nodes are cluster-scoped and only granted when watching all namespaces (the ClusterRole).
Argument: a dict with "clusterWide" (bool).
*/}}
{{- define "tidewater.rules" -}}
- apiGroups: ["ecs.tidewater.dev"]
  resources: ["taskdefinitions", "services", "clusters", "tasks", "scheduledtasks"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["ecs.tidewater.dev"]
  resources: ["taskdefinitions/status", "services/status", "clusters/status", "tasks/status", "scheduledtasks/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["apps"]
  resources: ["deployments", "daemonsets", "controllerrevisions"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["services", "serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["batch"]
  resources: ["cronjobs"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["elbv2.k8s.aws"]
  resources: ["targetgroupbindings"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["external-secrets.io"]
  resources: ["externalsecrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects", "triggerauthentications"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .clusterWide }}
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- end -}}

{{/* Checks of combinations the schema cannot express. */}}
{{- define "tidewater.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicaCount > 1 requires leaderElection.enabled=true (otherwise several operators would reconcile at once)" -}}
{{- end -}}
{{- if .Values.podDisruptionBudget.enabled -}}
{{- $min := .Values.podDisruptionBudget.minAvailable -}}
{{- $max := .Values.podDisruptionBudget.maxUnavailable -}}
{{- if or (and (kindIs "invalid" $min) (kindIs "invalid" $max)) (and (not (kindIs "invalid" $min)) (not (kindIs "invalid" $max))) -}}
{{- fail "podDisruptionBudget: set exactly one of minAvailable and maxUnavailable (the other to null)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
