package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

func (a *app) adminCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Administer teams, users, groups, applications and permissions"}
	cmd.PersistentFlags().BoolVar(&a.json, "json", false, "print the result as JSON")
	cmd.AddCommand(a.teamCommand(), a.userCommand(), a.groupCommand(), a.appCommand(), a.permissionCommand())
	cmd.AddCommand(a.clientCommand(), a.scopesCommand(), a.signingKeysCommand())
	cmd.AddCommand(a.keyCommand(), a.staticKeysCommand())
	return cmd
}

// requireTeam registers the --team flag.
func requireTeam(cmd *cobra.Command, team *string) {
	cmd.Flags().StringVar(team, "team", "", "the team (required)")
	cmd.MarkFlagRequired("team")
}

func table(w io.Writer, header string, rows func(tw io.Writer)) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	tw.Flush()
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// JSON shapes of the admin commands' output.
type (
	teamJSON struct {
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
	}
	userJSON struct {
		ID        string    `json:"id"`
		Email     string    `json:"email"`
		Name      string    `json:"name"`
		TeamAdmin bool      `json:"team_admin"`
		Disabled  bool      `json:"disabled"`
		CreatedAt time.Time `json:"created_at"`
	}
	groupJSON struct {
		Name      string    `json:"name"`
		Members   []string  `json:"members"`
		CreatedAt time.Time `json:"created_at"`
	}
	appJSON struct {
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
	}
	permissionJSON struct {
		Principal string    `json:"principal"`
		Action    string    `json:"action"`
		Resource  string    `json:"resource"`
		CreatedAt time.Time `json:"created_at"`
	}
	okJSON struct {
		OK bool `json:"ok"`
	}
)

func toUserJSON(u store.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, TeamAdmin: u.TeamAdmin, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
}

func (a *app) done(format string, args ...any) error {
	return a.print(okJSON{OK: true}, func(w io.Writer) { fmt.Fprintf(w, format+"\n", args...) })
}

func (a *app) teamCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "team", Short: "Manage teams"}
	cmd.AddCommand(&cobra.Command{
		Use: "create NAME", Short: "Create a team, served at NAME.<domain>", Args: exactArgs("NAME"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			t, err := e.Admin.CreateTeam(cmd.Context(), kernel.CLI, args[0])
			if err != nil {
				return err
			}
			return a.print(teamJSON{Name: t.Name, CreatedAt: t.CreatedAt}, func(w io.Writer) {
				fmt.Fprintf(w, "created team %s\n", t.Name)
			})
		}),
	}, &cobra.Command{
		Use: "list", Short: "List teams", Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			ts, err := e.Admin.ListTeams(cmd.Context())
			if err != nil {
				return err
			}
			out := make([]teamJSON, 0, len(ts))
			for _, t := range ts {
				out = append(out, teamJSON{Name: t.Name, CreatedAt: t.CreatedAt})
			}
			return a.print(out, func(w io.Writer) {
				table(w, "NAME\tCREATED", func(tw io.Writer) {
					for _, t := range out {
						fmt.Fprintf(tw, "%s\t%s\n", t.Name, rfc3339(t.CreatedAt))
					}
				})
			})
		}),
	}, &cobra.Command{
		Use: "delete NAME", Short: "Delete a team and everything in it", Args: exactArgs("NAME"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			if err := e.Admin.DeleteTeam(cmd.Context(), kernel.CLI, args[0]); err != nil {
				return err
			}
			return a.done("deleted team %s", args[0])
		}),
	})
	cmd.AddCommand(a.teamSettingsCommands()...)
	return cmd
}

// readPassword reads the first line of r.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin: pipe it in, e.g. printf '%s\\n' \"$PW\" | gatehouse admin user create ... --password-stdin")
	}
	return pw, nil
}

func (a *app) userCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users"}
	var (
		team, email, name string
		teamAdmin, stdin  bool
	)
	create := &cobra.Command{
		Use: "create", Short: "Create a user; the password is read from stdin", Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			if !stdin {
				return usageError{errors.New("--password-stdin is required: passwords are never taken as arguments")}
			}
			pw, err := readPassword(a.streams.In)
			if err != nil {
				return err
			}
			u, err := e.Admin.CreateUser(cmd.Context(), kernel.CLI, team, admin.NewUser{Email: email, Name: name, Password: pw, TeamAdmin: teamAdmin})
			if err != nil {
				return err
			}
			return a.print(toUserJSON(u), func(w io.Writer) { fmt.Fprintf(w, "created user %s (%s) in team %s\n", u.Email, u.ID, team) })
		}),
	}
	requireTeam(create, &team)
	create.Flags().StringVar(&email, "email", "", "the user's email (required)")
	create.MarkFlagRequired("email")
	create.Flags().StringVar(&name, "name", "", "display name (default: the email)")
	create.Flags().BoolVar(&teamAdmin, "team-admin", false, "make the user a team admin, who holds every permission of the team")
	create.Flags().BoolVar(&stdin, "password-stdin", false, "read the password (at least 12 characters) from the first line of stdin")

	list := &cobra.Command{
		Use: "list", Short: "List a team's users", Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			us, err := e.Admin.AllUsers(cmd.Context(), team)
			if err != nil {
				return err
			}
			out := make([]userJSON, 0, len(us))
			for _, u := range us {
				out = append(out, toUserJSON(u))
			}
			return a.print(out, func(w io.Writer) {
				table(w, "EMAIL\tNAME\tID\tTEAM ADMIN\tDISABLED", func(tw io.Writer) {
					for _, u := range out {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\n", u.Email, u.Name, u.ID, u.TeamAdmin, u.Disabled)
					}
				})
			})
		}),
	}
	requireTeam(list, &team)

	del := &cobra.Command{
		Use: "delete EMAIL", Short: "Delete a user with their API keys, memberships and permissions", Args: exactArgs("EMAIL"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			if err := e.Admin.DeleteUser(cmd.Context(), kernel.CLI, team, args[0]); err != nil {
				return err
			}
			return a.done("deleted user %s from team %s", args[0], team)
		}),
	}
	requireTeam(del, &team)

	var pwStdin bool
	setPassword := &cobra.Command{
		Use: "set-password EMAIL", Short: "Give a user a new password, read from stdin; their web sessions end", Args: exactArgs("EMAIL"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			if !pwStdin {
				return usageError{errors.New("--password-stdin is required: passwords are never taken as arguments")}
			}
			pw, err := readPassword(a.streams.In)
			if err != nil {
				return err
			}
			if err := e.Admin.SetPassword(cmd.Context(), kernel.CLI, team, args[0], pw); err != nil {
				return err
			}
			return a.done("set a new password for %s in team %s; their sessions ended", args[0], team)
		}),
	}
	requireTeam(setPassword, &team)
	setPassword.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password (at least 12 characters) from the first line of stdin")

	disable := &cobra.Command{
		Use: "disable EMAIL", Short: "Disable a user: they cannot sign in, and their web sessions end", Args: exactArgs("EMAIL"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			if err := e.Admin.SetDisabled(cmd.Context(), kernel.CLI, team, args[0], true); err != nil {
				return err
			}
			return a.done("disabled user %s in team %s; their sessions ended", args[0], team)
		}),
	}
	requireTeam(disable, &team)
	enable := &cobra.Command{
		Use: "enable EMAIL", Short: "Enable a disabled user again", Args: exactArgs("EMAIL"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			if err := e.Admin.SetDisabled(cmd.Context(), kernel.CLI, team, args[0], false); err != nil {
				return err
			}
			return a.done("enabled user %s in team %s", args[0], team)
		}),
	}
	requireTeam(enable, &team)
	signOut := &cobra.Command{
		Use: "sign-out EMAIL", Short: "End every web session of a user, on every node at once", Args: exactArgs("EMAIL"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			n, err := e.Admin.EndSessions(cmd.Context(), kernel.CLI, team, args[0])
			if err != nil {
				return err
			}
			return a.print(map[string]int{"sessions_ended": n}, func(w io.Writer) {
				fmt.Fprintf(w, "ended %d sessions of %s in team %s\n", n, args[0], team)
			})
		}),
	}
	requireTeam(signOut, &team)
	cmd.AddCommand(create, list, del, setPassword, disable, enable, signOut)
	return cmd
}

func (a *app) groupCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Manage groups; members inherit the group's permissions"}
	var team string
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a group", Args: exactArgs("NAME"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			g, err := e.Admin.CreateGroup(cmd.Context(), kernel.CLI, team, args[0])
			if err != nil {
				return err
			}
			return a.print(groupJSON{Name: g.Name, Members: []string{}, CreatedAt: g.CreatedAt}, func(w io.Writer) {
				fmt.Fprintf(w, "created group %s in team %s\n", g.Name, team)
			})
		}),
	}
	list := &cobra.Command{
		Use: "list", Short: "List groups with their members' emails", Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			gs, err := e.Admin.ListGroups(cmd.Context(), team)
			if err != nil {
				return err
			}
			us, err := e.Admin.AllUsers(cmd.Context(), team)
			if err != nil {
				return err
			}
			emails := map[string]string{}
			for _, u := range us {
				emails[u.ID] = u.Email
			}
			out := make([]groupJSON, 0, len(gs))
			for _, g := range gs {
				members := []string{}
				for _, id := range g.Members {
					members = append(members, emails[id])
				}
				slices.Sort(members) // the store orders them by user ID
				out = append(out, groupJSON{Name: g.Name, Members: members, CreatedAt: g.CreatedAt})
			}
			return a.print(out, func(w io.Writer) {
				table(w, "NAME\tMEMBERS", func(tw io.Writer) {
					for _, g := range out {
						fmt.Fprintf(tw, "%s\t%s\n", g.Name, strings.Join(g.Members, ","))
					}
				})
			})
		}),
	}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a group, its memberships and its permissions", Args: exactArgs("NAME"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			if err := e.Admin.DeleteGroup(cmd.Context(), kernel.CLI, team, args[0]); err != nil {
				return err
			}
			return a.done("deleted group %s from team %s", args[0], team)
		}),
	}
	add := &cobra.Command{
		Use: "add-member NAME EMAIL", Short: "Add a user to a group", Args: exactArgs("NAME", "EMAIL"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			if err := e.Admin.AddMember(cmd.Context(), kernel.CLI, team, args[0], args[1]); err != nil {
				return err
			}
			return a.done("added %s to group %s", args[1], args[0])
		}),
	}
	remove := &cobra.Command{
		Use: "remove-member NAME EMAIL", Short: "Remove a user from a group", Args: exactArgs("NAME", "EMAIL"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			if err := e.Admin.RemoveMember(cmd.Context(), kernel.CLI, team, args[0], args[1]); err != nil {
				return err
			}
			return a.done("removed %s from group %s", args[1], args[0])
		}),
	}
	for _, c := range []*cobra.Command{create, list, del, add, remove} {
		requireTeam(c, &team)
		cmd.AddCommand(c)
	}
	return cmd
}

func (a *app) appCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Manage applications, the principals that hold AppKeys"}
	var team string
	create := &cobra.Command{
		Use: "create NAME", Short: "Create an application", Args: exactArgs("NAME"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			ap, err := e.Admin.CreateApp(cmd.Context(), kernel.CLI, team, args[0])
			if err != nil {
				return err
			}
			return a.print(appJSON{Name: ap.Name, CreatedAt: ap.CreatedAt}, func(w io.Writer) {
				fmt.Fprintf(w, "created application %s in team %s\n", ap.Name, team)
			})
		}),
	}
	list := &cobra.Command{
		Use: "list", Short: "List applications", Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			as, err := e.Admin.ListApps(cmd.Context(), team)
			if err != nil {
				return err
			}
			out := make([]appJSON, 0, len(as))
			for _, ap := range as {
				out = append(out, appJSON{Name: ap.Name, CreatedAt: ap.CreatedAt})
			}
			return a.print(out, func(w io.Writer) {
				table(w, "NAME\tCREATED", func(tw io.Writer) {
					for _, ap := range out {
						fmt.Fprintf(tw, "%s\t%s\n", ap.Name, rfc3339(ap.CreatedAt))
					}
				})
			})
		}),
	}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete an application with its AppKeys and permissions", Args: exactArgs("NAME"),
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, args []string) error {
			if err := e.Admin.DeleteApp(cmd.Context(), kernel.CLI, team, args[0]); err != nil {
				return err
			}
			return a.done("deleted application %s from team %s", args[0], team)
		}),
	}
	for _, c := range []*cobra.Command{create, list, del} {
		requireTeam(c, &team)
		cmd.AddCommand(c)
	}
	return cmd
}

func (a *app) permissionCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "permission", Short: "Grant, revoke and list permissions"}
	var p store.Permission
	grant := &cobra.Command{
		Use: "grant", Short: "Let a principal do an action on a resource pattern", Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			got, err := e.Admin.Grant(cmd.Context(), kernel.CLI, p)
			if err != nil {
				return err
			}
			return a.print(permissionJSON{got.Principal, got.Action, got.Resource, got.CreatedAt}, func(w io.Writer) {
				fmt.Fprintf(w, "granted %s on %s to %s\n", got.Action, got.Resource, got.Principal)
			})
		}),
	}
	revoke := &cobra.Command{
		Use: "revoke", Short: "Take a permission away", Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			if err := e.Admin.Revoke(cmd.Context(), kernel.CLI, p); err != nil {
				return err
			}
			return a.done("revoked %s on %s from %s", p.Action, p.Resource, p.Principal)
		}),
	}
	for _, c := range []*cobra.Command{grant, revoke} {
		requireTeam(c, &p.Team)
		c.Flags().StringVar(&p.Principal, "principal", "", "user:<email>, group:<name>, app:<name> or client:<client_id> (required)")
		c.Flags().StringVar(&p.Action, "action", "", "the action, such as read, manage or push, or * (required)")
		c.Flags().StringVar(&p.Resource, "resource", "", "the resource pattern, such as data-pools/*, packages/42 or team (required)")
		for _, f := range []string{"principal", "action", "resource"} {
			c.MarkFlagRequired(f)
		}
	}
	list := &cobra.Command{
		Use: "list", Short: "List the team's permissions, or one principal's", Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			ps, err := e.Admin.ListPermissions(cmd.Context(), p.Team, p.Principal)
			if err != nil {
				return err
			}
			out := make([]permissionJSON, 0, len(ps))
			for _, x := range ps {
				out = append(out, permissionJSON{x.Principal, x.Action, x.Resource, x.CreatedAt})
			}
			return a.print(out, func(w io.Writer) {
				table(w, "PRINCIPAL\tACTION\tRESOURCE", func(tw io.Writer) {
					for _, x := range out {
						fmt.Fprintf(tw, "%s\t%s\t%s\n", x.Principal, x.Action, x.Resource)
					}
				})
			})
		}),
	}
	requireTeam(list, &p.Team)
	list.Flags().StringVar(&p.Principal, "principal", "", "only this principal's permissions")
	cmd.AddCommand(grant, revoke, list)
	return cmd
}
