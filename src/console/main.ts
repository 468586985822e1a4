/**
 * The herald console page: namespaces and their services (counts, healthy share), one service's
 * instances, the node (self-preservation, eviction) and its peers, kept live by the server's event
 * stream; actions to set and clear OUT_OF_SERVICE and to deregister. Routes live in the URL hash:
 * `#/ns/<namespace>` and `#/ns/<namespace>/svc/<group>/<service>`.
 */
import { getJson, HttpError, readEvents, send, setToken, token } from './api.js';
import { byId, h, setClass, setText, setTitle } from './dom.js';
import { ago, count, duration, metadata, percent } from './format.js';
import type { InstanceJson, LoginJson, NamespacesJson, NodeJson, ServiceDeltaJson, ServiceJson, ServiceRowJson, ServicesJson, SessionJson } from './protocol.js';
import { VirtualList } from './virtual-list.js';

const DEFAULT_NAMESPACE = 'public';
const DEFAULT_GROUP = 'DEFAULT_GROUP';
const ROW_HEIGHT = 34;

interface Route {
  readonly namespace: string;
  readonly group: string | undefined;
  readonly service: string | undefined;
}

const el = {
  main: byId('main', HTMLElement),
  login: byId('login', HTMLFormElement),
  loginUser: byId('login-user', HTMLInputElement),
  loginPassword: byId('login-password', HTMLInputElement),
  loginError: byId('login-error', HTMLElement),
  logout: byId('logout', HTMLButtonElement),
  user: byId('user', HTMLElement),
  live: byId('live', HTMLElement),
  nodeId: byId('node-id', HTMLElement),
  badges: byId('badges', HTMLElement),
  namespace: byId('namespace', HTMLSelectElement),
  serviceFilter: byId('service-filter', HTMLInputElement),
  services: byId('services', HTMLElement),
  servicesCount: byId('services-count', HTMLElement),
  overview: byId('overview', HTMLElement),
  node: byId('node', HTMLElement),
  peers: byId('peers', HTMLElement),
  serviceView: byId('service-view', HTMLElement),
  serviceTitle: byId('service-title', HTMLElement),
  serviceStats: byId('service-stats', HTMLElement),
  instanceFilter: byId('instance-filter', HTMLInputElement),
  actionError: byId('action-error', HTMLElement),
  instances: byId('instances', HTMLElement),
};

// ------------------------------------------------------------------ state

let route: Route = { namespace: DEFAULT_NAMESPACE, group: undefined, service: undefined };
/** The server's clock minus this page's, from the last message (ages use the server's clock). */
let clockOffsetMs = 0;
let services: readonly ServiceRowJson[] = [];
/** The shown service's instances by id, and in id order. */
const instances = new Map<string, InstanceJson>();
let ordered: InstanceJson[] = [];
let clusterView = false;
let stream: AbortController | undefined;

const serverNow = (): number => Date.now() + clockOffsetMs;

// ------------------------------------------------------------------ lists

const serviceList = new VirtualList<ServiceRowJson>(el.services, ROW_HEIGHT, {
  create: () => {
    const bar = h('span', { class: 'bar-fill' });
    return h(
      'a',
      { class: 'row services-cols', attrs: { role: 'listitem' } },
      h('span', { class: 'name' }, h('span', { class: 'svc' }), h('span', { class: 'group muted' })),
      h('span', { class: 'num' }),
      h('span', { class: 'health' }, h('span', { class: 'bar' }, bar), h('span', { class: 'pct' })),
    );
  },
  render: (row, s) => {
    const [name, num, health] = row.children;
    if (!(row instanceof HTMLAnchorElement) || name === undefined || num === undefined || health === undefined) return;
    const href = serviceHash(route.namespace, s.group, s.name);
    if (row.getAttribute('href') !== href) row.setAttribute('href', href);
    row.dataset.service = s.name;
    setClass(row, `row services-cols${route.service === s.name && route.group === s.group ? ' selected' : ''}`);
    setText(name.children[0] as HTMLElement, s.name);
    setText(name.children[1] as HTMLElement, s.group === DEFAULT_GROUP ? '' : s.group);
    setText(num as HTMLElement, count(s.instances));
    const share = s.instances === 0 ? 0 : s.healthy / s.instances;
    const fill = health.querySelector<HTMLElement>('.bar-fill');
    if (fill !== null) {
      fill.style.width = `${Math.round(share * 100)}%`;
      setClass(fill, `bar-fill ${s.instances === 0 ? 'empty' : share >= 0.999 ? 'good' : share >= 0.5 ? 'warn' : 'bad'}`);
    }
    setText(health.children[1] as HTMLElement, percent(s.healthy, s.instances));
  },
});

const STATUS_CLASS: Readonly<Record<string, string>> = { UP: 'ok', DOWN: 'bad', OUT_OF_SERVICE: 'oos', STARTING: 'warn', UNKNOWN: 'muted' };

const instanceList = new VirtualList<InstanceJson>(el.instances, ROW_HEIGHT, {
  create: () =>
    h(
      'div',
      { class: 'row instance-cols', attrs: { role: 'row' } },
      h('span', { class: 'addr mono' }),
      h('span', { class: 'cluster' }),
      h('span', { class: 'num' }),
      h('span', { class: 'status' }),
      h('span', { class: 'override' }),
      h('span', { class: 'meta mono small' }),
      h('span', { class: 'age num' }),
      h('span', { class: 'via muted' }),
      h(
        'span',
        { class: 'actions' },
        h('button', { class: 'small', attrs: { type: 'button', 'data-action': 'oos' } }),
        h('button', { class: 'small danger', text: 'Deregister', attrs: { type: 'button', 'data-action': 'deregister' } }),
      ),
    ),
  render: (row, i) => {
    const c = row.children as HTMLCollectionOf<HTMLElement>;
    const [addr, cluster, weight, status, override, meta, age, via, actions] = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]];
    if (!addr || !cluster || !weight || !status || !override || !meta || !age || !via || !actions) return;
    row.dataset.id = i.id;
    setText(addr, `${i.ip}:${i.port}`);
    setTitle(addr, i.id);
    setText(cluster, i.cluster);
    setText(weight, String(i.weight));
    const health = i.healthy ? (i.enabled ? '' : ' (disabled)') : ' (unhealthy)';
    setText(status, i.status + health);
    setClass(status, `status pill ${STATUS_CLASS[i.status] ?? 'muted'}${i.healthy ? '' : ' unhealthy'}`);
    setText(override, i.overriddenStatus ?? '—');
    setClass(override, `override${i.overriddenStatus === null ? ' muted' : ' pill oos'}`);
    const m = metadata(i.metadata);
    setText(meta, m === '' ? '—' : m);
    setTitle(meta, m);
    setText(age, duration(serverNow() - i.registeredAt));
    setTitle(age, `registered ${new Date(i.registeredAt).toISOString()}; lease ${duration(i.leaseDurationMs)}, renewed every ${duration(i.renewalIntervalMs)}`);
    setText(via, i.transport === '' ? '?' : i.transport);
    setTitle(via, i.registrant === '' ? `registered over ${i.transport || 'an unknown API'}` : `registered over ${i.transport || 'an unknown API'} by ${i.registrant}`);
    const oos = actions.children[0] as HTMLButtonElement;
    setText(oos, i.overriddenStatus === 'OUT_OF_SERVICE' ? 'Back in service' : 'Out of service');
  },
});

function serviceHash(namespace: string, group: string, service: string): string {
  return `#/ns/${encodeURIComponent(namespace)}/svc/${encodeURIComponent(group)}/${encodeURIComponent(service)}`;
}

function parseRoute(): Route {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const namespace = parts[0] === 'ns' && parts[1] !== undefined && parts[1] !== '' ? parts[1] : DEFAULT_NAMESPACE;
  if (parts[2] === 'svc' && parts[3] !== undefined && parts[4] !== undefined && parts[4] !== '') return { namespace, group: parts[3], service: parts[4] };
  return { namespace, group: undefined, service: undefined };
}

function filtered<T>(items: readonly T[], filter: string, text: (t: T) => string): readonly T[] {
  const f = filter.trim().toLowerCase();
  return f === '' ? items : items.filter((t) => text(t).toLowerCase().includes(f));
}

function showServices(): void {
  const shown = filtered(services, el.serviceFilter.value, (s) => `${s.group} ${s.name}`);
  serviceList.setItems(shown);
  const total = services.reduce((n, s) => n + s.instances, 0);
  setText(el.servicesCount, `${count(services.length)} services, ${count(total)} instances`);
}

function showInstances(): void {
  instanceList.setItems(
    filtered(ordered, el.instanceFilter.value, (i) => `${i.ip}:${i.port} ${i.cluster} ${i.status} ${i.overriddenStatus ?? ''} ${i.transport} ${metadata(i.metadata)}`),
  );
  const healthy = ordered.reduce((n, i) => n + (i.healthy && i.status === 'UP' ? 1 : 0), 0);
  setText(el.serviceStats, `${count(ordered.length)} instances · ${percent(healthy, ordered.length)} usable`);
}

// ------------------------------------------------------------------ events

function onServices(s: ServicesJson): void {
  clockOffsetMs = s.now - Date.now();
  services = s.services;
  showServices();
}

function onService(s: ServiceJson): void {
  clockOffsetMs = s.now - Date.now();
  instances.clear();
  for (const i of s.instances) instances.set(i.id, i);
  ordered = [...s.instances];
  showInstances();
}

function onServiceDelta(d: ServiceDeltaJson): void {
  clockOffsetMs = d.now - Date.now();
  let reorder = d.removed.length > 0;
  for (const id of d.removed) instances.delete(id);
  for (const i of d.upserts) {
    if (!instances.has(i.id)) reorder = true;
    instances.set(i.id, i);
  }
  if (reorder) {
    ordered = [...instances.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  } else {
    ordered = ordered.map((i) => instances.get(i.id) ?? i);
  }
  showInstances();
}

function onNode(n: NodeJson): void {
  clockOffsetMs = n.now - Date.now();
  setText(el.nodeId, n.nodeId === '' ? '' : `node ${n.nodeId}`);
  const sp = n.selfPreservation;
  const spText = !sp.enabled ? 'self-preservation off' : sp.active ? 'SELF-PRESERVATION ACTIVE: not evicting' : 'self-preservation armed';
  const last = n.eviction.last;
  const evText = last === null ? 'eviction: not run yet' : `eviction ${ago(last.at, n.now)}: ${last.outcome}`;
  el.badges.replaceChildren(
    h('span', { class: `badge ${sp.active ? 'warn' : 'ok'}`, text: spText, title: `renews last minute ${sp.renewsLastMinute}, threshold ${sp.renewsThreshold}` }),
    h('span', { class: 'badge', text: evText, title: last?.reason ?? '' }),
  );
  const card = (label: string, value: string, detail = ''): HTMLElement =>
    h('div', { class: 'card' }, h('div', { class: 'muted small', text: label }), h('div', { class: 'big', text: value }), h('div', { class: 'muted small', text: detail }));
  el.node.replaceChildren(
    card('Instances', count(n.instances), `${count(n.services)} services in ${count(n.namespaces)} namespaces`),
    card('Subscribers', count(n.subscribers), 'open Subscribe streams'),
    card(
      'Self-preservation',
      !sp.enabled ? 'off' : sp.active ? 'ACTIVE' : 'armed',
      `${count(sp.renewsLastMinute)} renews in the last minute; threshold ${count(sp.renewsThreshold)}`,
    ),
    card(
      'Eviction',
      last === null ? 'not run yet' : `${last.evicted} evicted`,
      last === null ? `every ${duration(n.eviction.intervalMs)}` : `${ago(last.at, n.now)}: ${last.reason}; ${count(n.eviction.evictedTotal)} in all`,
    ),
    card(
      'Cluster',
      n.peers.length === 0 ? 'single node' : `${n.peers.filter((p) => p.state === 'up').length}/${n.peers.length} peers up`,
      n.synced ? 'synced' : 'start-up sync under way',
    ),
  );
  el.peers.replaceChildren(
    ...(n.peers.length === 0
      ? [h('tr', {}, h('td', { class: 'muted', text: 'No peers configured (--peers).', attrs: { colspan: '8' } }))]
      : n.peers.map((p) =>
          h(
            'tr',
            {},
            h('td', { class: 'mono', text: p.address }),
            h('td', { text: p.nodeId }),
            h('td', {}, h('span', { class: `pill ${p.state === 'up' ? 'ok' : p.state === 'down' ? 'bad' : 'muted'}`, text: p.state })),
            h('td', { class: 'num', text: count(p.queueDepth) }),
            h('td', { class: 'num', text: count(p.failures) }),
            h('td', { class: 'num', text: count(p.dropped) }),
            h('td', { text: ago(p.lastSuccessAt, n.now) }),
            h('td', { class: 'error', text: p.lastError }),
          ),
        )),
  );
}

function dispatch(name: string, data: string): void {
  switch (name) {
    case 'services':
      onServices(JSON.parse(data) as ServicesJson);
      break;
    case 'service':
      onService(JSON.parse(data) as ServiceJson);
      break;
    case 'service-delta':
      onServiceDelta(JSON.parse(data) as ServiceDeltaJson);
      break;
    case 'node':
      onNode(JSON.parse(data) as NodeJson);
      break;
    default:
      break;
  }
}

/** Follows the current route's stream, reconnecting with back-off until the route changes. */
function follow(): void {
  stream?.abort();
  const controller = new AbortController();
  stream = controller;
  const query: Record<string, string> = { namespace: route.namespace };
  if (route.service !== undefined) {
    query.service = route.service;
    query.group = route.group ?? DEFAULT_GROUP;
  }
  const stopped = (): boolean => controller.signal.aborted;
  void (async () => {
    let backoffMs = 500;
    while (!stopped()) {
      try {
        setText(el.live, 'connecting…');
        setClass(el.live, 'live');
        const opened = readEvents('/console/api/events', query, dispatch, controller.signal);
        setText(el.live, 'live');
        setClass(el.live, 'live on');
        await opened;
        backoffMs = 500;
      } catch (e) {
        if (stopped()) return;
        if (e instanceof HttpError && e.status === 401) {
          showLogin('Your session ended: sign in again.');
          return;
        }
        if (e instanceof HttpError && e.status === 403) {
          setText(el.live, e.message);
          setClass(el.live, 'live off');
          return;
        }
      }
      setText(el.live, 'reconnecting…');
      setClass(el.live, 'live off');
      await new Promise((r) => setTimeout(r, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 10_000);
    }
  })();
}

function onRoute(): void {
  const next = parseRoute();
  const serviceChanged = next.service !== route.service || next.group !== route.group || next.namespace !== route.namespace;
  route = next;
  if (el.namespace.value !== route.namespace) el.namespace.value = route.namespace;
  el.overview.hidden = route.service !== undefined;
  el.serviceView.hidden = route.service === undefined;
  if (route.service !== undefined) setText(el.serviceTitle, route.group === DEFAULT_GROUP ? route.service : `${route.group} / ${route.service}`);
  if (serviceChanged) {
    instances.clear();
    ordered = [];
    showInstances();
    setText(el.actionError, '');
  }
  serviceList.refresh();
  follow();
}

// ------------------------------------------------------------------ actions

el.instances.addEventListener('click', (ev) => {
  const button = (ev.target as Element).closest('button[data-action]');
  const row = button?.closest('.row');
  const item = row === null || row === undefined ? undefined : instanceList.itemOf(row);
  if (!(button instanceof HTMLButtonElement) || item === undefined || route.service === undefined) return;
  const target = { namespace: route.namespace, group: route.group ?? DEFAULT_GROUP, service: route.service, instanceId: item.id };
  let call: Promise<unknown>;
  if (button.dataset.action === 'oos') {
    call =
      item.overriddenStatus === 'OUT_OF_SERVICE'
        ? send('DELETE', '/console/api/instance/status', target)
        : send('PUT', '/console/api/instance/status', { ...target, status: 'OUT_OF_SERVICE' });
  } else {
    if (!confirm(`Deregister ${item.ip}:${item.port} (${item.id})?`)) return;
    call = send('DELETE', '/console/api/instance', target);
  }
  button.disabled = true;
  setText(el.actionError, '');
  // The change comes back through the event stream, like every other client sees it.
  call
    .catch((e: unknown) => {
      setText(el.actionError, e instanceof Error ? e.message : String(e));
    })
    .finally(() => {
      button.disabled = false;
    });
});

// ------------------------------------------------------------------ session

function showLogin(message = ''): void {
  stream?.abort();
  setToken(undefined);
  el.main.hidden = true;
  el.login.hidden = false;
  setText(el.loginError, message);
  el.loginUser.focus();
}

el.login.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void send<LoginJson>('POST', '/console/api/login', { username: el.loginUser.value, password: el.loginPassword.value })
    .then((r) => {
      setToken(r.token);
      el.loginPassword.value = '';
      void start();
    })
    .catch((e: unknown) => {
      setText(el.loginError, e instanceof Error ? e.message : String(e));
    });
});

el.logout.addEventListener('click', () => {
  showLogin();
});

async function loadNamespaces(): Promise<void> {
  const { namespaces } = await getJson<NamespacesJson>('/console/api/namespaces');
  el.namespace.replaceChildren(...namespaces.map((n) => h('option', { text: `${n.name} (${count(n.services)} services)`, attrs: { value: n.name } })));
  if (!namespaces.some((n) => n.name === route.namespace) && namespaces[0] !== undefined) location.hash = `#/ns/${encodeURIComponent(namespaces[0].name)}`;
}

async function start(): Promise<void> {
  let session: SessionJson;
  try {
    session = await getJson<SessionJson>('/console/api/session');
    if (session.auth && session.user === 'anonymous') {
      showLogin();
      return;
    }
    await loadNamespaces();
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) showLogin(token() === undefined ? '' : 'Your session ended: sign in again.');
    else setText(el.live, e instanceof Error ? e.message : String(e));
    return;
  }
  clusterView = session.clusterView;
  setText(el.user, session.auth ? session.user : '');
  el.logout.hidden = !session.auth;
  el.login.hidden = true;
  el.main.hidden = false;
  if (!clusterView) el.node.replaceChildren(h('p', { class: 'muted', text: 'The node and its peers need admin on every namespace.' }));
  onRoute();
}

el.namespace.addEventListener('change', () => {
  location.hash = `#/ns/${encodeURIComponent(el.namespace.value)}`;
});
el.serviceFilter.addEventListener('input', showServices);
el.instanceFilter.addEventListener('input', showInstances);
window.addEventListener('hashchange', onRoute);
// Lease ages move on their own: re-render the rows in view once a second (nothing else).
setInterval(() => {
  instanceList.refresh();
}, 1_000);

void start();
