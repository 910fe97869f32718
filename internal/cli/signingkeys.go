package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/adminclient"
)

func (a *app) signingKeysCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "signing-keys", Short: "List and rotate a team's token signing keys"}
	var team, alg string
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Publish a new signing key now; it signs after --signing-key-publish-ahead and the old one retires then",
		Args:  noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, _ []string) error {
			k, err := c.RotateSigningKey(cmd.Context(), alg)
			if err != nil {
				return err
			}
			return a.print(k, func(w io.Writer) {
				fmt.Fprintf(w, "published %s key %s; it signs from %s\n", k.Alg, k.KID, rfc3339(k.ActivateAt))
			})
		}),
	}
	rotate.Flags().StringVar(&alg, "alg", "", "algorithm of the new key: ES384, ES256 or EdDSA (default: the team's, else the server's)")
	list := &cobra.Command{
		Use: "list", Short: "List the team's signing keys (public information only)", Args: noArgs,
		RunE: a.withTeam(&team, func(cmd *cobra.Command, c *adminclient.Client, _ string, _ []string) error {
			out, err := c.SigningKeys(cmd.Context())
			if err != nil {
				return err
			}
			if out == nil {
				out = []adminclient.SigningKey{}
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
