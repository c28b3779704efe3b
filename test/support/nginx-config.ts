/**
 * The main config of a test's own nginx: foreground, its pid, logs and temp files in `dir`, and `http`
 * (includes and servers) inside the http block. Every test nginx starts from this one text.
 */
export function nginxMainConfig(dir: string, http: string, logs: { error?: string; access?: string } = {}): string {
  return `daemon off;
pid ${dir}/nginx.pid;
error_log ${logs.error ?? `${dir}/error.log`};
events {}
http {
  access_log ${logs.access ?? 'off'};
  client_body_temp_path ${dir}/tmp-body;
  proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi;
  scgi_temp_path ${dir}/tmp-scgi;
${http}
}
`;
}
