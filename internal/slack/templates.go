package slack

import (
	"bytes"
	"html/template"
)

// pages holds the bodies this package renders inside the web layout. They
// are html/template, so whatever came from Slack or a request is escaped.
var pages = template.Must(template.New("slack").Parse(`
{{define "error"}}<div class="slack-error"><p id="message">{{.Message}}</p>{{if .Hint}}<p id="hint">{{.Hint}}</p>{{end}}</div>{{end}}

{{define "installed"}}<div class="slack-installed">
<p id="message">The Slack workspace <strong>{{.Workspace}}</strong> is now connected to <strong>{{.Org}}</strong>{{if .Installer}}, and your Slack account is linked to your Triage account{{end}}.</p>
<p>In Slack, type <code>/triage link</code> to link your account, and invite the bot to private channels with <code>/invite @{{.Bot}}</code>.</p>
<p><a id="settings" href="{{.SettingsURL}}">Back to the organization's settings</a></p>
</div>{{end}}

{{define "confirm"}}<div class="slack-confirm">
<p id="message">{{if .Unlink}}Unlink the Slack account <strong>{{.SlackUser}}</strong> in the workspace <strong>{{.Workspace}}</strong> from your Triage account <strong>{{.Email}}</strong>?{{else}}Link the Slack account <strong>{{.SlackUser}}</strong> in the workspace <strong>{{.Workspace}}</strong> to your Triage account <strong>{{.Email}}</strong>?{{end}}</p>
<p>Organization{{if gt (len .Orgs) 1}}s{{end}}: {{range $k, $o := .Orgs}}{{if $k}}, {{end}}<strong>{{$o}}</strong>{{end}}.</p>
{{if not .Unlink}}<p>What you do in Slack with Triage's buttons will then be done as you.</p>{{end}}
<form method="post" action="">
<button id="confirm" type="submit">{{if .Unlink}}Unlink{{else}}Link{{end}} my Slack account</button>
</form>
</div>{{end}}

{{define "done"}}<div class="slack-done">
<p id="message">{{.Message}}</p>
<p><a id="back-to-slack" class="button" href="{{.DeepLink}}">Go back to Slack</a></p>
</div>{{end}}

{{define "settings"}}<section id="slack-settings">
<h2>Slack</h2>
{{if .Workspaces}}<table id="slack-workspaces"><thead><tr><th>Workspace</th><th>Domain</th><th>Status</th></tr></thead><tbody>
{{range .Workspaces}}<tr data-team="{{.TeamID}}"><td>{{if .Icon}}<img src="{{.Icon}}" alt="" width="20" height="20"> {{end}}{{.Name}}</td><td>{{.Domain}}</td>
<td class="status-{{.Status}}">{{.StatusText}}{{if .Reason}} ({{.Reason}}){{end}}{{if and $.Admin (ne .Status "active")}} <a href="{{$.InstallURL}}">Reinstall</a>{{end}}</td>
{{if $.Admin}}<td><form method="post" action="{{.RemoveURL}}"><button type="submit" class="remove-workspace">Remove</button></form></td>{{end}}</tr>
{{if .Missing}}<tr class="needs-scopes" data-team="{{.TeamID}}"><td colspan="4">Installed before these features, which need a reinstall to work in {{.Name}}: {{range $k, $f := .Missing}}{{if $k}}; {{end}}{{$f}}{{end}}. Everything else works.{{if $.Admin}} <a class="reinstall" href="{{$.InstallURL}}">Reinstall</a>{{else}} An owner or admin can reinstall it.{{end}}</td></tr>{{end}}
{{end}}</tbody></table>{{else}}<p>No Slack workspace is connected yet.</p>{{end}}
{{with .Socket}}{{if .Enabled}}<p id="slack-socket">Socket Mode: {{if .Connected}}connected since {{.Since.Format "2006-01-02 15:04 UTC"}}{{else if .Stopped}}stopped{{else}}reconnecting{{end}}{{if .Reconnects}}, {{.Reconnects}} reconnects{{end}}{{if .LastError}}; last error: {{.LastError}}{{end}}</p>{{end}}{{end}}
{{if .Admin}}{{if .Configured}}<p><a id="slack-install" class="button" href="{{.InstallURL}}">Add to Slack</a></p>{{else}}<p>Slack is not configured on this server: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET.</p>{{end}}{{end}}
<h3>Your Slack accounts</h3>
{{if .Identities}}<ul id="slack-identities">{{range .Identities}}<li>{{.SlackUser}} in {{.Workspace}}
<form method="post" action="{{.UnlinkURL}}" style="display:inline"><button type="submit">Unlink</button></form></li>{{end}}</ul>
{{else}}<p>None linked. In Slack, type <code>/triage link</code>.</p>{{end}}
</section>{{end}}
`))

func render(name string, data any) (template.HTML, error) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}
