'use strict';
/**
 * A fake of the LanguageClient surface the Controller uses: records requests and
 * notifications, answers executeCommand through `respond`, and lets a test push the server's
 * $/progress for a work-done token.
 */
const { State } = require('vscode-languageclient');

class FakeClient {
    constructor(launch, options, behaviour) {
        this.launch = launch;
        this.options = options;
        this.behaviour = behaviour;
        this.requests = [];
        this.notifications = [];
        this.progressHandlers = new Map();
        this.stateListeners = [];
        this.started = 0;
        this.stopped = 0;
        this.protocol2CodeConverter = { asWorkspaceEdit: async (edit) => ({ converted: edit }) };
    }
    async start() {
        this.started += 1;
        this.fireState(State.Starting);
        if (this.behaviour.startError) {
            this.fireState(State.Stopped);
            throw new Error(this.behaviour.startError);
        }
        this.fireState(State.Running);
    }
    async stop() {
        this.stopped += 1;
        this.fireState(State.Stopped);
    }
    fireState(newState) {
        for (const listener of this.stateListeners) {
            listener({ oldState: undefined, newState });
        }
    }
    onDidChangeState(listener) {
        this.stateListeners.push(listener);
        return { dispose: () => (this.stateListeners = this.stateListeners.filter((l) => l !== listener)) };
    }
    async sendRequest(type, params, token) {
        this.requests.push({ method: type.method, params, token });
        return this.behaviour.respond ? this.behaviour.respond(params, this, token) : null;
    }
    async sendNotification(type, params) {
        this.notifications.push({ method: type.method, params });
    }
    onProgress(type, token, handler) {
        this.progressHandlers.set(token, handler);
        return { dispose: () => this.progressHandlers.delete(token) };
    }
    /** Send $/progress values for the token of the last request. */
    progress(...values) {
        const token = this.requests[this.requests.length - 1].params.workDoneToken;
        const handler = this.progressHandlers.get(token);
        if (!handler) {
            throw new Error(`nobody listens to progress token ${token}`);
        }
        values.forEach((v) => handler(v));
    }
}

/** A ClientFactory that records the clients it made; `behaviour` is shared and may change between starts. */
function fakeFactory(behaviour = {}) {
    const clients = [];
    const factory = (launch, options) => {
        const client = new FakeClient(launch, options, behaviour);
        clients.push(client);
        return client;
    };
    return { factory, clients, behaviour };
}

module.exports = { FakeClient, fakeFactory };
