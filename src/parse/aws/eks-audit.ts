import { textValue } from '../../schema/event';
import { type BuiltinSource, base, has } from './builtin-source';

const isKubernetesAudit = (l: string) => has(l, '"auditID"', '"audit.k8s.io/');

/** A pod spec's keys, flattened, that give a container the node: privileged, its namespaces, its files. */
const PRIVILEGED_KEY = /\.securityContext\.privileged$/;
const HOST_NAMESPACE_KEY = /\.spec\.host(?:PID|Network|IPC)$/;
const HOST_PATH_KEY = /\.volumes\.\d{1,4}\.hostPath\.path$/;

/**
 * Kubernetes API server audit events (audit.k8s.io/v1), as EKS control plane logging writes them
 * to `/aws/eks/<cluster>/cluster` (streams `kube-apiserver-audit-*`). The event keeps the audit
 * fields under their Kubernetes names (`verb`, `objectRef.resource`, `objectRef.subresource`,
 * `annotations.authorization.k8s.io/decision`, `requestObject.*`), plus ECS names for who, from
 * where and what came back. A request body (`requestObject`, logged at the Request level EKS uses
 * for writes) that gives a container the node sets `kubernetes.pod.privileged`,
 * `kubernetes.pod.host_namespace` or `kubernetes.pod.host_path`, wherever the pod spec sits (a pod,
 * a Deployment's template, a CronJob's job template).
 */
export const KUBERNETES_AUDIT: BuiltinSource = {
  definition: base('eks-audit', 'Amazon EKS (Kubernetes) API server audit logs', 'json', {
    requestReceivedTimestamp: '@timestamp',
    'user.username': 'user.name',
    'sourceIPs.0': 'source.address',
    userAgent: 'user_agent.original',
    'responseStatus.code': 'http.response.status_code',
    requestURI: 'url.original',
    'objectRef.namespace': 'orchestrator.namespace',
    'objectRef.resource': 'orchestrator.resource.type',
    'objectRef.name': 'orchestrator.resource.name',
  }),
  patterns: [],
  recognize: isKubernetesAudit,
  recognizedBy: ['auditID'],
  // EKS writes its control plane's logs to a group of its own naming, one per cluster.
  deliveredIn: {
    group: /^\/aws\/eks\/[^/]{1,255}\/cluster$/,
    where: "an EKS cluster's control-plane log group (/aws/eks/<cluster>/cluster)",
  },
  derives: [
    'kubernetes.audit.level',
    'event.action',
    'event.category',
    'event.dataset',
    'cloud.provider',
    'orchestrator.type',
    'orchestrator.cluster.name',
    'kubernetes.pod.privileged',
    'kubernetes.pod.host_namespace',
    'kubernetes.pod.host_path',
  ],
  derive: (e, logGroup) => {
    // The audit event's `level` is how much of the request was logged, not a severity.
    const level = textValue(e.level);
    if (level !== undefined && e['log.level'] === level) {
      e['kubernetes.audit.level'] = level;
      Reflect.deleteProperty(e, 'log.level');
    }
    const verb = textValue(e.verb);
    if (verb) e['event.action'] = `k8s_${verb}`;
    e['event.category'] = 'api';
    e['event.dataset'] = 'kubernetes.audit';
    e['cloud.provider'] = 'aws';
    e['orchestrator.type'] = 'kubernetes';
    const cluster = EKS_GROUP_RE.exec(logGroup)?.[1];
    if (cluster) e['orchestrator.cluster.name'] = cluster;
    if (verb !== 'create' && verb !== 'update' && verb !== 'patch') return;
    for (const key in e) {
      if (!key.startsWith('requestObject.')) continue;
      const value = e[key];
      if (value === true && PRIVILEGED_KEY.test(key)) e['kubernetes.pod.privileged'] = true;
      else if (value === true && HOST_NAMESPACE_KEY.test(key)) e['kubernetes.pod.host_namespace'] = true;
      else if (typeof value === 'string' && HOST_PATH_KEY.test(key)) e['kubernetes.pod.host_path'] = true;
      // A spec nested deeper than flattening goes (a CronJob's) is kept as JSON text.
      else if (typeof value === 'string' && value.includes('"privileged":true')) e['kubernetes.pod.privileged'] = true;
    }
  },
};
const EKS_GROUP_RE = /^\/aws\/eks\/([^/]{1,255})\/cluster$/;
