import type { SessionUser } from '../server/auth/sessions.ts';
import { confirmAttrs } from './confirm.tsx';
import { Layout } from './layout.tsx';
import { Time } from './time.tsx';

export interface ChannelView {
  id: string;
  name: string;
  type: string;
  /** Scheme and host only; the URL itself is a secret. */
  endpoint: string | null;
  to: string[];
  createdAt: string;
}

export interface RuleView {
  id: string;
  name: string;
  channel: string;
  events: string[];
  targets: string[];
  kinds: string[];
  certDays: number;
  enabled: boolean;
  owner: string;
  /** False once the owner is disabled or no longer an admin: the rule no longer fires. */
  ownerActive: boolean;
}

export interface DeliveryView {
  job: string;
  channel: string | null;
  attempt: number;
  at: string;
  ok: boolean;
  status: number | null;
  detail: string | null;
}

export interface NotificationsPageProps {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  channels: ChannelView[];
  rules: RuleView[];
  deliveries: DeliveryView[];
  events: readonly string[];
  kinds: string[];
  smtpConfigured: boolean;
}

/** The new channel, shown once in place of the form's result: a webhook's signing secret is never shown again. */
export function NewChannel({ name, signingSecret }: { name: string; signingSecret: string | null }) {
  return (
    <div class="card" role="status">
      <p>Channel {name} saved.</p>
      {signingSecret && (
        <>
          <p>Its signing secret, for the receiver to check X-Deckhand-Signature. Copy it now: it is not shown again.</p>
          <code class="token">{signingSecret}</code>
        </>
      )}
    </div>
  );
}

const all = (list: string[], none: string) => (list.length > 0 ? list.join(', ') : none);

function ChannelsCard({ channels }: { channels: ChannelView[] }) {
  return (
    <section class="card">
      <h2>Channels</h2>
      <div id="channels-error" />
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Goes to</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {channels.map((ch) => (
            <tr data-channel={ch.name}>
              <td data-label="Name">{ch.name}</td>
              <td data-label="Type">{ch.type}</td>
              <td data-label="Goes to">{ch.type === 'email' ? ch.to.join(', ') : ch.endpoint}</td>
              <td data-label="Created">
                <Time at={ch.createdAt} />
              </td>
              <td class="actions">
                <button type="button" hx-post={`/ui/notifications/channels/${ch.id}/test`} hx-target="#channels-error">
                  Send a test
                </button>
                <button
                  type="button"
                  class="danger"
                  hx-post={`/ui/notifications/channels/${ch.id}/delete`}
                  hx-target="#channels-error"
                  {...confirmAttrs({
                    message: `Delete channel ${ch.name}? Its rules are deleted with it, and nothing more is sent there.`,
                    action: `Delete ${ch.name}`,
                    danger: true,
                  })}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {channels.length === 0 && <p class="muted">No channels yet.</p>}
    </section>
  );
}

function ChannelForm({ smtpConfigured }: { smtpConfigured: boolean }) {
  return (
    <form class="card" hx-post="/ui/notifications/channels" hx-target="#new-channel">
      <h2>New channel</h2>
      <label>
        Name <input name="name" required pattern="[a-z0-9][a-z0-9_.\-]{0,62}" />
      </label>
      <label>
        Type
        <select name="type">
          <option value="webhook">Webhook (signed JSON)</option>
          <option value="slack">Slack incoming webhook</option>
          <option value="email" disabled={!smtpConfigured}>
            Email{smtpConfigured ? '' : ' (set DECKHAND_SMTP_URL first)'}
          </option>
        </select>
      </label>
      <label>
        URL (webhook, Slack) <input name="url" type="url" placeholder="https://hooks.example.com/…" />
      </label>
      <label>
        Recipients (email, comma-separated) <input name="to" placeholder="oncall@example.com" />
      </label>
      <div id="new-channel" />
      <button type="submit">Add channel</button>
    </form>
  );
}

function RulesCard({ rules }: { rules: RuleView[] }) {
  return (
    <section class="card">
      <h2>Rules</h2>
      <div id="rules-error" />
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>On</th>
            <th>Targets</th>
            <th>Kinds</th>
            <th>Channel</th>
            <th>State</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => (
            <tr data-rule={r.name}>
              <td data-label="Name">{r.name}</td>
              <td data-label="On">
                {r.events.join(', ')}
                {r.events.includes('cert.expiring') && ` (under ${r.certDays} days)`}
              </td>
              <td data-label="Targets">{all(r.targets, 'all')}</td>
              <td data-label="Kinds">{all(r.kinds, 'all')}</td>
              <td data-label="Channel">{r.channel}</td>
              <td data-label="State" data-firing={String(r.enabled && r.ownerActive)}>
                {!r.enabled ? 'paused' : r.ownerActive ? 'on' : `off: ${r.owner} is disabled or no longer an admin`}
              </td>
              <td class="actions">
                <form hx-post={`/ui/notifications/rules/${r.id}`} hx-target="#rules-error" class="inline">
                  <input type="hidden" name="enabled" value={r.enabled ? 'false' : 'true'} />
                  <button type="submit">{r.enabled ? 'Pause' : 'Resume'}</button>
                </form>
                <button
                  type="button"
                  class="danger"
                  hx-post={`/ui/notifications/rules/${r.id}/delete`}
                  hx-target="#rules-error"
                  {...confirmAttrs({
                    message: `Delete rule ${r.name}? Its events are no longer sent to ${r.channel}.`,
                    action: `Delete ${r.name}`,
                    danger: true,
                  })}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rules.length === 0 && <p class="muted">No rules yet: nothing is sent.</p>}
    </section>
  );
}

function RuleForm(p: { channels: ChannelView[]; events: readonly string[]; kinds: string[] }) {
  return (
    <form class="card" hx-post="/ui/notifications/rules" hx-target="#new-rule-error">
      <h2>New rule</h2>
      <label>
        Name <input name="name" required pattern="[a-z0-9][a-z0-9_.\-]{0,62}" />
      </label>
      <fieldset>
        <legend>On</legend>
        {p.events.map((e) => (
          <label>
            <input type="checkbox" name="events" value={e} /> {e}
          </label>
        ))}
      </fieldset>
      <label>
        Targets (comma-separated; empty: all) <input name="targets" />
      </label>
      <label>
        Kinds (comma-separated; empty: all) <input name="kinds" placeholder={p.kinds.join(', ')} />
      </label>
      <label>
        Certificate under (days) <input name="certDays" type="number" min={1} max={365} value="14" />
      </label>
      <label>
        Channel
        <select name="channel" required>
          {p.channels.map((ch) => (
            <option value={ch.name}>{ch.name}</option>
          ))}
        </select>
      </label>
      <div id="new-rule-error" />
      <button type="submit" disabled={p.channels.length === 0}>
        Add rule
      </button>
    </form>
  );
}

function DeliveriesCard({ deliveries }: { deliveries: DeliveryView[] }) {
  return (
    <section class="card">
      <h2>Latest deliveries</h2>
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Channel</th>
            <th>Attempt</th>
            <th>Answer</th>
            <th>Job</th>
          </tr>
        </thead>
        <tbody>
          {deliveries.map((d) => (
            <tr>
              <td data-label="When">
                <Time at={d.at} />
              </td>
              <td data-label="Channel">{d.channel ?? '(deleted)'}</td>
              <td data-label="Attempt">{d.attempt}</td>
              <td data-label="Answer" class={d.ok ? undefined : 'error'}>
                {d.ok ? 'delivered' : 'refused'}: {d.detail}
              </td>
              <td data-label="Job">
                <a href={`/jobs/${d.job}`}>{d.job.slice(0, 8)}</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {deliveries.length === 0 && <p class="muted">Nothing delivered yet.</p>}
    </section>
  );
}

/** Admins: where notifications go (channels), on what (rules), and what the receivers answered. */
export function NotificationsPage(p: NotificationsPageProps) {
  return (
    <Layout title="Notifications" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <ChannelsCard channels={p.channels} />
      <ChannelForm smtpConfigured={p.smtpConfigured} />
      <RulesCard rules={p.rules} />
      <RuleForm channels={p.channels} events={p.events} kinds={p.kinds} />
      <DeliveriesCard deliveries={p.deliveries} />
    </Layout>
  );
}
