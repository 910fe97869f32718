package webui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// /admin/audit-log and /admin/login-history: newest first, filtered by a
// time range and who, what or how, paged; and /admin/settings.

type auditRow struct {
	At                    when
	Actor, Action, Target string
	IP, UserAgent         string
	Detail                []hidden // name and value, sorted
}

type historyView struct {
	Audit  []auditRow
	Logins []loginRow
	Pager  pager
	Search form
}

// interval reads since and until (a datetime-local field's UTC time, a
// date, or RFC 3339); a bad one is a problem of its field.
func interval(q url.Values, f form) (since, until time.Time) {
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"since", &since}, {"until", &until}} {
		s := strings.TrimSpace(q.Get(b.name))
		if s == "" {
			continue
		}
		t, ok := parseTime(s)
		if !ok {
			f.Errs[b.name] = "Want a date and time such as 2026-01-31T09:00 (UTC)."
			continue
		}
		*b.dst = t
	}
	return since, until
}

// auditPage lists the audit log, newest first: since and until (UTC),
// actor, action and target, each an exact match, as the team API's.
func (u *UI) auditPage(w http.ResponseWriter, r *http.Request, d *desk) {
	q := r.URL.Query()
	search := newForm(q)
	f := store.AuditFilter{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")), Target: strings.TrimSpace(q.Get("target"))}
	f.Since, f.Until = interval(q, search)
	v := u.deskView(r, d, "Audit log")
	hv := historyView{Search: search}
	status := http.StatusOK
	if len(search.Errs) > 0 {
		status, v.Error = http.StatusBadRequest, "The filter is not right: see below."
	} else {
		events, next, err := u.o.Console.History.ListAudit(r.Context(), d.team, f, listPage(r))
		if err != nil {
			u.failPage(w, r, d, err)
			return
		}
		for _, e := range events {
			row := auditRow{At: at(e.At), Actor: e.Actor, Action: e.Action, Target: e.Target, IP: e.IP, UserAgent: e.UserAgent}
			for k, val := range e.Detail {
				row.Detail = append(row.Detail, hidden{k, val})
			}
			slices.SortFunc(row.Detail, func(a, b hidden) int { return strings.Compare(a.Name, b.Name) })
			hv.Audit = append(hv.Audit, row)
		}
		hv.Pager = newPager(r, next)
	}
	v.Page = hv
	u.render(w, r, status, "admin_audit", v)
}

type loginRow struct {
	At                       when
	Email, Reason, IP, Agent string
	Success                  bool
}

// loginsPage lists the login history, newest first: since and until
// (UTC), user (an email) and result (success or failure), as the team
// API's.
func (u *UI) loginsPage(w http.ResponseWriter, r *http.Request, d *desk) {
	q := r.URL.Query()
	search := newForm(q)
	f := store.LoginFilter{Email: strings.ToLower(strings.TrimSpace(q.Get("user"))), Result: q.Get("result")}
	if f.Result != "" && f.Result != "success" && f.Result != "failure" {
		search.Errs["result"] = "Want success or failure."
	}
	f.Since, f.Until = interval(q, search)
	v := u.deskView(r, d, "Login history")
	hv := historyView{Search: search}
	status := http.StatusOK
	if len(search.Errs) > 0 {
		status, v.Error = http.StatusBadRequest, "The filter is not right: see below."
	} else {
		events, next, err := u.o.Console.History.ListLogins(r.Context(), d.team, f, listPage(r))
		if err != nil {
			u.failPage(w, r, d, err)
			return
		}
		for _, e := range events {
			hv.Logins = append(hv.Logins, loginRow{At: at(e.At), Email: e.Email, Reason: e.Reason, IP: e.IP, Agent: e.UserAgent, Success: e.Success})
		}
		hv.Pager = newPager(r, next)
	}
	v.Page = hv
	u.render(w, r, status, "admin_logins", v)
}

// ---- Settings ----

type signingKeyRow struct {
	KID, Alg     string
	Created      when
	Activate     when
	Retired      *when
	DeleteAfter  *when
	CanSign      bool
	Active, Next bool
}

type settingsView struct {
	Form         form
	Version      string
	Keys         []signingKeyRow
	Formats      []choice
	Algs         []choice
	CanManage    bool
	RotateResult string
}

var signingAlgs = []choice{
	{"", "The server's (ES384 unless set otherwise)", ""}, {"ES384", "ES384", ""}, {"ES256", "ES256", ""}, {"EdDSA", "EdDSA", ""},
}

// settingsPage shows the team's token settings (access token lifetime,
// the scope claim's format, the signing algorithm) with the form that
// changes them, and the signing keys with the button that rotates them.
func (u *UI) settingsPage(w http.ResponseWriter, r *http.Request, d *desk) {
	u.showSettings(w, r, d, http.StatusOK, form{}, "")
}

func settingsForm(s store.TeamSettings) form {
	ttl := ""
	if s.AccessTokenTTL > 0 {
		ttl = s.AccessTokenTTL.String()
	}
	return newForm(url.Values{"access_token_ttl": {ttl}, "token_scope_format": {s.ScopeFormat}, "signing_alg": {s.SigningAlg}})
}

func (u *UI) showSettings(w http.ResponseWriter, r *http.Request, d *desk, status int, f form, msg string) {
	s, err := u.o.Console.Admin.TeamSettings(r.Context(), d.team)
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	ks, err := u.o.Console.Signing.Keys(r.Context(), d.team)
	if err != nil {
		u.failPage(w, r, d, err)
		return
	}
	if f.Values == nil {
		f = settingsForm(s)
	}
	sv := settingsView{Form: f, Version: admin.SettingsVersion(s), CanManage: d.may(actManage, resTeam), Algs: signingAlgs,
		Formats: []choice{{"", "The server's (a JSON array unless set otherwise)", ""}, {"array", "A JSON array of names", ""},
			{"string", "A space-separated string (RFC 9068)", ""}}}
	sv.Keys = signingRows(ks, u.now())
	v := u.deskView(r, d, "Settings")
	v.Page, v.Error = sv, msg
	switch q := r.URL.Query(); {
	case q.Has("saved"):
		v.Notice = "The settings were saved; every node applies them within a second."
	case q.Has("rotated"):
		v.Notice = "A new signing key is published; it signs once its activation time comes, and the old one retires then."
	}
	u.render(w, r, status, "admin_settings", v)
}

// signingRows lists the keys newest first, marking the one that signs now
// and the one that will.
func signingRows(ks []signing.KeyInfo, now time.Time) []signingKeyRow {
	rows := make([]signingKeyRow, 0, len(ks))
	active := -1
	for i, k := range ks {
		if k.RetiredAt == nil && !k.ActivateAt.After(now) && (active < 0 || k.ActivateAt.After(ks[active].ActivateAt)) {
			active = i
		}
	}
	for i, k := range ks {
		rows = append(rows, signingKeyRow{KID: k.ID, Alg: k.Alg, Created: at(k.CreatedAt), Activate: at(k.ActivateAt),
			Retired: atPtr(k.RetiredAt), DeleteAfter: atPtr(k.DeleteAfter), CanSign: k.CanSign,
			Active: i == active, Next: k.RetiredAt == nil && k.ActivateAt.After(now)})
	}
	slices.SortStableFunc(rows, func(a, b signingKeyRow) int { return strings.Compare(b.Created.ISO, a.Created.ISO) })
	return rows
}

// updateSettings is the admin API's PATCH /api/admin/settings with every
// field of the form, made only if the settings are still as the page
// showed them.
func (u *UI) updateSettings(w http.ResponseWriter, r *http.Request, d *desk) {
	f := newForm(r.PostForm)
	c := admin.TeamSettingsChange{IfVersion: f.Get("version")}
	var ttl time.Duration
	if s := strings.TrimSpace(f.Get("access_token_ttl")); s != "" {
		var err error
		if ttl, err = time.ParseDuration(s); err != nil {
			f.Errs["access_token_ttl"] = "Want a duration such as 15m or 1h."
			u.showSettings(w, r, d, http.StatusUnprocessableEntity, f, "Some fields are not right: see below.")
			return
		}
	}
	format, alg := f.Get("token_scope_format"), f.Get("signing_alg")
	c.AccessTokenTTL, c.ScopeFormat, c.SigningAlg = &ttl, &format, &alg
	if _, err := u.o.Console.Admin.SetTeamSettings(r.Context(), d.actor, d.team, c); err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, errs map[string]string) {
			if status == http.StatusPreconditionFailed {
				f = form{} // show what is there now
			} else {
				f.Errs = errs
			}
			u.showSettings(w, r, d, status, f, msg)
		})
		return
	}
	redirect(w, r, "/admin/settings?saved=1")
}

// rotateSigningKey is the admin API's POST /api/admin/signing-keys/rotate.
func (u *UI) rotateSigningKey(w http.ResponseWriter, r *http.Request, d *desk) {
	if _, err := u.o.Console.Signing.RotateFor(r.Context(), d.actor, d.team, r.PostForm.Get("alg")); err != nil {
		u.deskFail(w, r, d, err, func(status int, msg string, _ map[string]string) {
			u.showSettings(w, r, d, status, form{}, msg)
		})
		return
	}
	redirect(w, r, "/admin/settings?rotated=1")
}
