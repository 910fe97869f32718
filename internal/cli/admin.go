package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/adminclient"
	"github.com/gatehouse/gatehouse/internal/kernel"
)

func (a *app) adminCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Administer teams, users, groups, applications and permissions"}
	cmd.PersistentFlags().BoolVar(&a.json, "json", false, "print the result as JSON")
	cmd.PersistentFlags().StringVar(&a.url, "url", "", "act on the server of this team `URL` through its admin API (env "+envURL+"), such as https://acme.gatehouse.example; the credential comes from "+envToken+", or "+envClientID+" and "+envClientSecret)
	cmd.AddCommand(a.teamCommand(), a.userCommand(), a.groupCommand(), a.appCommand(), a.permissionCommand())
	cmd.AddCommand(a.clientCommand(), a.scopesCommand(), a.signingKeysCommand())
	cmd.AddCommand(a.keyCommand(), a.staticKeysCommand())
	return cmd
}

// requireTeam registers the --team flag: required in local mode; in
// remote mode the URL names the team.
func requireTeam(cmd *cobra.Command, team *string) {
	cmd.Flags().StringVar(team, "team", "", "the team (required without --url)")
}

func table(w io.Writer, header string, rows func(tw io.Writer)) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	tw.Flush()
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// JSON shapes of the admin commands' output: a record is printed as the
// admin API answers it (adminclient's records), whichever the mode.
type (
	teamJSON struct {
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
	}
	okJSON struct {
		OK bool `json:"ok"`
	}
)

func (a *app) done(format string, args ...any) error {
	return a.print(okJSON{OK: true}, func(w io.Writer) { fmt.Fprintf(w, format+"\n", args...) })
}

func (a *app) teamCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "team", Short: "Manage teams"}
	cmd.AddCommand(&cobra.Command{
		Use: "create NAME", Short: "Create a team, served at NAME.<domain>", Args: exactArgs("NAME"),
		RunE: a.localOnlyEnv(func(cmd *cobra.Command, e *env, args []string) error {
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
		RunE: a.localOnlyEnv(func(cmd *cobra.Command, e *env, _ []string) error {
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
		RunE: a.localOnlyEnv(func(cmd *cobra.Command, e *env, args []string) error {
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
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, _ []string) error {
			if !stdin {
				return usageError{errors.New("--password-stdin is required: passwords are never taken as arguments")}
			}
			pw, err := readPassword(a.streams.In)
			if err != nil {
				return err
			}
			u, err := c.CreateUser(cmd.Context(), adminclient.NewUser{Email: email, Name: name, Password: pw, TeamAdmin: teamAdmin})
			if err != nil {
				return err
			}
			return a.print(u, func(w io.Writer) { fmt.Fprintf(w, "created user %s (%s) in team %s\n", u.Email, u.ID, team) })
		}),
	}
	create.Flags().StringVar(&email, "email", "", "the user's email (required)")
	create.MarkFlagRequired("email")
	create.Flags().StringVar(&name, "name", "", "display name (default: the email)")
	create.Flags().BoolVar(&teamAdmin, "team-admin", false, "make the user a team admin, who holds every permission of the team")
	create.Flags().BoolVar(&stdin, "password-stdin", false, "read the password (at least 12 characters) from the first line of stdin")

	list := &cobra.Command{
		Use: "list", Short: "List a team's users", Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, _ []string) error {
			out, err := all(cmd, func(ctx context.Context, p adminclient.Page) (adminclient.List[adminclient.User], error) {
				return c.ListUsers(ctx, "", p)
			})
			if err != nil {
				return err
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

	del := &cobra.Command{
		Use: "delete EMAIL", Short: "Delete a user with their API keys, memberships and permissions", Args: exactArgs("EMAIL"),
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			if err := c.DeleteUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.done("deleted user %s from team %s", args[0], team)
		}),
	}

	var pwStdin bool
	setPassword := &cobra.Command{
		Use: "set-password EMAIL", Short: "Give a user a new password, read from stdin; their web sessions end", Args: exactArgs("EMAIL"),
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			if !pwStdin {
				return usageError{errors.New("--password-stdin is required: passwords are never taken as arguments")}
			}
			pw, err := readPassword(a.streams.In)
			if err != nil {
				return err
			}
			if _, _, err := c.UpdateUser(cmd.Context(), args[0], adminclient.UserChange{Password: &pw}, ""); err != nil {
				return err
			}
			return a.done("set a new password for %s in team %s; their sessions ended", args[0], team)
		}),
	}
	setPassword.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password (at least 12 characters) from the first line of stdin")

	disabled := func(yes bool, said string) teamCall {
		return func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			if _, _, err := c.UpdateUser(cmd.Context(), args[0], adminclient.UserChange{Disabled: &yes}, ""); err != nil {
				return err
			}
			return a.done(said, args[0], team)
		}
	}
	disable := &cobra.Command{
		Use: "disable EMAIL", Short: "Disable a user: they cannot sign in, and their web sessions end", Args: exactArgs("EMAIL"),
		RunE: a.withTeam(&team, disabled(true, "disabled user %s in team %s; their sessions ended")),
	}
	enable := &cobra.Command{
		Use: "enable EMAIL", Short: "Enable a disabled user again", Args: exactArgs("EMAIL"),
		RunE: a.withTeam(&team, disabled(false, "enabled user %s in team %s")),
	}
	signOut := &cobra.Command{
		Use: "sign-out EMAIL", Short: "End every web session of a user, on every node at once", Args: exactArgs("EMAIL"),
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			n, err := c.EndSessions(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.print(adminclient.SessionsEnded{SessionsEnded: n}, func(w io.Writer) {
				fmt.Fprintf(w, "ended %d sessions of %s in team %s\n", n, args[0], team)
			})
		}),
	}
	for _, c := range []*cobra.Command{create, list, del, setPassword, disable, enable, signOut} {
		requireTeam(c, &team)
		cmd.AddCommand(c)
	}
	return cmd
}

// all pages through a listing of the admin API.
func all[T any](cmd *cobra.Command, page func(ctx context.Context, p adminclient.Page) (adminclient.List[T], error)) ([]T, error) {
	out, err := adminclient.All(cmd.Context(), page)
	if out == nil {
		out = []T{}
	}
	return out, err
}

func (a *app) groupCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Manage groups; members inherit the group's permissions"}
	var team string
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a group", Args: exactArgs("NAME"),
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			g, err := c.CreateGroup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.print(g, func(w io.Writer) { fmt.Fprintf(w, "created group %s in team %s\n", g.Name, team) })
		}),
	}
	list := &cobra.Command{
		Use: "list", Short: "List groups with their members' emails", Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, _ []string) error {
			out, err := all(cmd, func(ctx context.Context, p adminclient.Page) (adminclient.List[adminclient.Group], error) {
				return c.ListGroups(ctx, "", p)
			})
			if err != nil {
				return err
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
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			if err := c.DeleteGroup(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.done("deleted group %s from team %s", args[0], team)
		}),
	}
	add := &cobra.Command{
		Use: "add-member NAME EMAIL", Short: "Add a user to a group", Args: exactArgs("NAME", "EMAIL"),
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, args []string) error {
			if err := c.AddMember(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			return a.done("added %s to group %s", args[1], args[0])
		}),
	}
	remove := &cobra.Command{
		Use: "remove-member NAME EMAIL", Short: "Remove a user from a group", Args: exactArgs("NAME", "EMAIL"),
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, args []string) error {
			if err := c.RemoveMember(cmd.Context(), args[0], args[1]); err != nil {
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
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			ap, err := c.CreateApp(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.print(ap, func(w io.Writer) { fmt.Fprintf(w, "created application %s in team %s\n", ap.Name, team) })
		}),
	}
	list := &cobra.Command{
		Use: "list", Short: "List applications", Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, _ []string) error {
			out, err := all(cmd, func(ctx context.Context, p adminclient.Page) (adminclient.List[adminclient.App], error) {
				return c.ListApps(ctx, "", p)
			})
			if err != nil {
				return err
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
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, team string, args []string) error {
			if err := c.DeleteApp(cmd.Context(), args[0]); err != nil {
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
	var team, principal, action, resource string
	grant := &cobra.Command{
		Use: "grant", Short: "Let a principal do an action on a resource pattern", Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, _ []string) error {
			got, err := c.Grant(cmd.Context(), principal, action, resource)
			if err != nil {
				return err
			}
			return a.print(got, func(w io.Writer) {
				fmt.Fprintf(w, "granted %s on %s to %s\n", got.Action, got.Resource, got.Principal)
			})
		}),
	}
	revoke := &cobra.Command{
		Use: "revoke", Short: "Take a permission away", Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, _ []string) error {
			if err := c.Revoke(cmd.Context(), principal, action, resource); err != nil {
				return err
			}
			return a.done("revoked %s on %s from %s", action, resource, principal)
		}),
	}
	for _, c := range []*cobra.Command{grant, revoke} {
		requireTeam(c, &team)
		c.Flags().StringVar(&principal, "principal", "", "user:<email>, group:<name>, app:<name> or client:<client_id> (required)")
		c.Flags().StringVar(&action, "action", "", "the action, such as read, manage or push, or * (required)")
		c.Flags().StringVar(&resource, "resource", "", "the resource pattern, such as data-pools/*, packages/42 or team (required)")
		for _, f := range []string{"principal", "action", "resource"} {
			c.MarkFlagRequired(f)
		}
	}
	list := &cobra.Command{
		Use: "list", Short: "List the team's permissions, or one principal's", Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, _ []string) error {
			out, err := all(cmd, func(ctx context.Context, p adminclient.Page) (adminclient.List[adminclient.Permission], error) {
				return c.ListPermissions(ctx, principal, p)
			})
			if err != nil {
				return err
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
	requireTeam(list, &team)
	list.Flags().StringVar(&principal, "principal", "", "only this principal's permissions")
	cmd.AddCommand(grant, revoke, list)
	return cmd
}
