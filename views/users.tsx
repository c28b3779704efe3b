import type { SessionUser } from '../server/auth/sessions.ts';
import { confirmAttrs } from './confirm.tsx';
import { Layout } from './layout.tsx';
import { Time } from './time.tsx';

export interface UserView {
  username: string;
  role: string;
  disabled: boolean;
  mustChangePassword: boolean;
  createdAt: string;
}

const roleOptions = ['viewer', 'operator', 'admin'];

function UserRow({ u }: { u: UserView }) {
  const url = `/ui/users/${encodeURIComponent(u.username)}`;
  return (
    <tr data-user={u.username}>
      <td data-label="User">{u.username}</td>
      <td data-label="Role">
        <form
          hx-post={url}
          hx-target="#users-error"
          class="inline"
          {...confirmAttrs({
            message: `Change the role of ${u.username}? Their other sessions end.`,
            action: 'Set role',
          })}
        >
          <select name="role" aria-label={`role of ${u.username}`}>
            {roleOptions.map((r) => (
              <option value={r} selected={r === u.role}>
                {r}
              </option>
            ))}
          </select>
          <button type="submit">Set role</button>
        </form>
      </td>
      <td data-label="Status">{u.disabled ? 'disabled' : u.mustChangePassword ? 'must change password' : 'active'}</td>
      <td>
        <form
          hx-post={url}
          hx-target="#users-error"
          class="inline"
          {...(u.disabled
            ? {}
            : confirmAttrs({
                message: `Disable ${u.username}? All their sessions end.`,
                action: `Disable ${u.username}`,
                danger: true,
              }))}
        >
          <input type="hidden" name="disabled" value={u.disabled ? 'false' : 'true'} />
          <button type="submit" class={u.disabled ? undefined : 'danger'}>
            {u.disabled ? 'Enable' : 'Disable'}
          </button>
        </form>
      </td>
      <td data-label="Password">
        <form hx-post={url} hx-target="#users-error" class="inline">
          <input
            name="password"
            type="password"
            autocomplete="new-password"
            minlength={12}
            placeholder="new password"
          />
          <button type="submit">Set password</button>
        </form>
      </td>
      <td data-label="Created">
        <Time at={u.createdAt} />
      </td>
    </tr>
  );
}

/** Admins add users, change roles and passwords, and disable accounts. */
export function UsersPage(p: { user: SessionUser; csrfToken: string | null; pagePath: string; users: UserView[] }) {
  return (
    <Layout title="Users" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <section class="card">
        <div id="users-error" />
        <table>
          <thead>
            <tr>
              <th>User</th>
              <th>Role</th>
              <th>Status</th>
              <th />
              <th>Password</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {p.users.map((u) => (
              <UserRow u={u} />
            ))}
          </tbody>
        </table>
      </section>
      <form class="card" hx-post="/ui/users" hx-target="#new-user-error">
        <h2>Add a user</h2>
        <label>
          Username <input name="username" required pattern="[a-zA-Z0-9_.\-]{1,64}" />
        </label>
        <label>
          Role
          <select name="role">
            {roleOptions.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Password <input name="password" type="password" autocomplete="new-password" minlength={12} required />
        </label>
        <label>
          <input type="checkbox" name="mustChangePassword" value="true" checked /> Must change it at first sign-in
        </label>
        <div id="new-user-error" />
        <button type="submit">Add user</button>
      </form>
    </Layout>
  );
}
