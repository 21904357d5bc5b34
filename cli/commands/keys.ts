import type { Command } from 'commander';
import { loadConfig } from '../../workers/config';
import { createStatementSigner, type ServerKeyInfo, type StatementSigner } from '../../workers/signing-keys';
import { ExitCode } from '../exit-codes';
import { writeErr, writeJson, writeOut } from '../output';
import { runAction } from '../run-action';

function render(keys: ServerKeyInfo[]): string {
  return `${keys.map((k) => `${k.role.padEnd(8)} ${k.id}  ${k.publicKey}${k.retiredAt ? `  retired ${k.retiredAt}` : ''}`).join('\n')}\n`;
}

/** `keys show|generate|rotate`: the server's Ed25519 key that signs answers from Slack and the dashboard. */
export function registerKeysCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description(
      "The server's Ed25519 signing keys (answers from Slack and the dashboard are signed with the current one; lifecycles " +
        'trust the current and the next). Kept in $DRIFTPLANE_HOME (signing.key, signing.next.key, signing-keys.json) unless ' +
        'DRIFTPLANE_SIGNING_KEY is set. People sign CLI answers with their own SSH keys (registry: sshPublicKeys). See docs/identity.md.',
    );
  const print = (list: ServerKeyInfo[], json?: boolean) =>
    json ? writeJson({ keys: list }) : writeOut(render(list));

  const subcommands: [string, string, (signer: StatementSigner) => ServerKeyInfo[]][] = [
    [
      'show',
      'Print the key ids and public keys: current, next and retired (creates the current and next keys if missing).',
      (signer) => signer.keys(),
    ],
    [
      'generate',
      'Create the current and next keys if they do not exist (files of mode 0600); never replaces a key.',
      (signer) => signer.keys(),
    ],
    [
      'rotate',
      'Retire the current key (its secret is deleted, its public key kept for auditors), promote the next key and make a new next key. ' +
        'Lifecycles started since the last rotation already trust the promoted key; workers and `driftplane serve` read the keys on every use.',
      (signer) => signer.rotate(),
    ],
  ];
  for (const [name, description, act] of subcommands) {
    keys
      .command(name)
      .description(description)
      .option('--json', 'print { "keys": [ { "id", "publicKey", "role", "retiredAt"? } ] }')
      .action(
        runAction(async (opts: { json?: boolean }) => {
          const config = loadConfig();
          print(act(createStatementSigner(config.signing)), opts.json);
          if (!opts.json)
            writeErr(`keys in ${config.signing.key ? 'DRIFTPLANE_SIGNING_KEY' : config.signing.home}\n`);
          return ExitCode.ok;
        }),
      );
  }
}
