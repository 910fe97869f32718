package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/signing"
)

// keyJSON is a signing key as the CLI shows it: never private material.
type keyJSON struct {
	KID         string     `json:"kid"`
	Alg         string     `json:"alg"`
	CreatedAt   time.Time  `json:"created_at"`
	ActivateAt  time.Time  `json:"activate_at"`
	RetiredAt   *time.Time `json:"retired_at,omitempty"`
	DeleteAfter *time.Time `json:"delete_after,omitempty"`
	CanSign     bool       `json:"can_sign"`
}

func toKeyJSON(k signing.KeyInfo) keyJSON {
	return keyJSON{KID: k.ID, Alg: k.Alg, CreatedAt: k.CreatedAt, ActivateAt: k.ActivateAt,
		RetiredAt: k.RetiredAt, DeleteAfter: k.DeleteAfter, CanSign: k.CanSign}
}

func (a *app) signingKeysCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "signing-keys", Short: "List and rotate a team's token signing keys"}
	var team, alg string
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Publish a new signing key now; it signs after --signing-key-publish-ahead and the old one retires then",
		Args:  noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			k, err := e.Signing.RotateFor(cmd.Context(), kernel.CLI, team, alg)
			if err != nil {
				return err
			}
			return a.print(toKeyJSON(k), func(w io.Writer) {
				fmt.Fprintf(w, "published %s key %s; it signs from %s\n", k.Alg, k.ID, rfc3339(k.ActivateAt))
			})
		}),
	}
	rotate.Flags().StringVar(&alg, "alg", "", "algorithm of the new key: ES384, ES256 or EdDSA (default: the team's, else the server's)")
	list := &cobra.Command{
		Use: "list", Short: "List the team's signing keys (public information only)", Args: noArgs,
		RunE: a.withEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			ctx := cmd.Context()
			if err := kernel.TeamExists(ctx, e.Store, team); err != nil {
				return err
			}
			ks, err := e.Signing.Keys(ctx, team)
			if err != nil {
				return err
			}
			out := make([]keyJSON, 0, len(ks))
			for _, k := range ks {
				out = append(out, toKeyJSON(k))
			}
			return a.print(out, func(w io.Writer) {
				table(w, "KID\tALG\tCREATED\tSIGNS FROM\tRETIRED\tUNPUBLISHED AFTER", func(tw io.Writer) {
					for _, k := range out {
						retired, del := "-", "-"
						if k.RetiredAt != nil {
							retired = rfc3339(*k.RetiredAt)
						}
						if k.DeleteAfter != nil {
							del = rfc3339(*k.DeleteAfter)
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, rfc3339(k.CreatedAt), rfc3339(k.ActivateAt), retired, del)
					}
				})
			})
		}),
	}
	for _, c := range []*cobra.Command{rotate, list} {
		requireTeam(c, &team)
		cmd.AddCommand(c)
	}
	return cmd
}
