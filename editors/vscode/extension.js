// Pointy-lang for VS Code: the grammar is declared in package.json; this
// starts `volnux lsp` and connects it to the editor. Plain JavaScript, so
// there is nothing to build: `npm install` fetches the language client.
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

function serverOptions() {
  const settings = vscode.workspace.getConfiguration('volnux');
  const [command, ...args] = settings.get('server.command', ['volnux', 'lsp']);
  for (const source of settings.get('server.events', [])) {
    args.push('--events', source);
  }
  // Relative --events paths are read from the first workspace folder.
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return { command, args, options: folder ? { cwd: folder } : {} };
}

async function start() {
  client = new LanguageClient(
    'volnux',
    'Volnux (Pointy-lang)',
    serverOptions(),
    {
      documentSelector: [
        { scheme: 'file', language: 'pointy' },
        { scheme: 'untitled', language: 'pointy' },
      ],
      // Saving an events file or the configuration makes the server check
      // the open workflows again.
      synchronize: {
        fileEvents: [
          vscode.workspace.createFileSystemWatcher('**/*.py'),
          vscode.workspace.createFileSystemWatcher('**/{volnux,pyproject}.toml'),
        ],
      },
    },
  );
  try {
    await client.start();
  } catch (error) {
    vscode.window.showErrorMessage(
      `volnux lsp did not start (${error.message}). Is Volnux installed with its lsp extra ` +
        `(pip install 'volnux[lsp]'), and is "volnux.server.command" right?`,
    );
  }
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('volnux.restartServer', async () => {
      if (client) {
        await client.stop();
      }
      await start();
    }),
  );
  await start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
