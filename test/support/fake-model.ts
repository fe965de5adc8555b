import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Purpose = 'plan' | 'code' | 'analysis';

export interface RecordedRequest {
  purpose: Purpose;
  model: string;
  system: string;
  user: string;
  json: boolean;
}

/** One scripted answer: the text to send back, or an HTTP error. */
export type Reply =
  | { purpose: Purpose; content: string | ((request: RecordedRequest) => string | HttpFailure) }
  | ({ purpose: Purpose } & HttpFailure);

/** An error answer of the endpoint: its HTTP status and message. */
export interface HttpFailure {
  status: number;
  message: string;
}

/** What kind of call a request is, from the system prompt the activities send. */
function purposeOf(system: string): Purpose {
  if (system.startsWith('You plan')) return 'plan';
  if (system.startsWith('You write')) return 'code';
  return 'analysis';
}

/**
 * A scripted OpenAI-compatible chat endpoint on a real HTTP port, reached through the real
 * `openai` client. Answers are consumed in order; a call nobody scripted, or of the wrong kind,
 * gets a 400 (which the activities treat as permanent) and is listed in `problems`.
 */
export class FakeModel {
  readonly requests: RecordedRequest[] = [];
  readonly problems: string[] = [];
  private readonly replies: Reply[] = [];
  private server: http.Server | null = null;
  url = '';

  private standing: ((request: RecordedRequest) => Reply) | null = null;
  private latencyMs = 0;

  /** For benchmarks: every answer is sent this long after its request arrived, like a real model's. */
  answerAfter(ms: number): this {
    this.latencyMs = ms;
    return this;
  }

  /**
   * For benchmarks that cannot know how many calls will come: the answer to any call once the
   * scripted ones are used up. Tests script every call instead.
   */
  answerEverything(reply: (request: RecordedRequest) => Reply): this {
    this.standing = reply;
    return this;
  }

  script(...replies: Reply[]): this {
    this.replies.push(...replies);
    return this;
  }

  /** Scripted answers not yet asked for. */
  get pending(): number {
    return this.replies.length;
  }

  count(purpose: Purpose): number {
    return this.requests.filter((request) => request.purpose === purpose).length;
  }

  reset(): void {
    this.requests.length = 0;
    this.problems.length = 0;
    this.replies.length = 0;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = null;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      return send(404, { error: { message: `fake model: no route ${req.method} ${req.url}` } });
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      model: string;
      messages: Array<{ role: string; content: string }>;
      response_format?: { type: string };
    };
    const system = body.messages.find((message) => message.role === 'system')?.content ?? '';
    const user = body.messages.find((message) => message.role === 'user')?.content ?? '';
    const request: RecordedRequest = {
      purpose: purposeOf(system),
      model: body.model,
      system,
      user,
      json: body.response_format?.type === 'json_object',
    };
    this.requests.push(request);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const reply = this.replies.shift() ?? this.standing?.(request);
    if (!reply || reply.purpose !== request.purpose) {
      const problem = reply
        ? `fake model: expected a ${reply.purpose} call, got a ${request.purpose} call`
        : `fake model: unscripted ${request.purpose} call (#${this.requests.length})`;
      this.problems.push(problem);
      return send(400, { error: { message: problem, type: 'invalid_request_error' } });
    }
    if ('status' in reply) return send(reply.status, { error: { message: reply.message } });
    const content = typeof reply.content === 'function' ? reply.content(request) : reply.content;
    if (typeof content !== 'string') return send(content.status, { error: { message: content.message } });
    send(200, {
      id: `chatcmpl-${this.requests.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: Math.ceil((system.length + user.length) / 4),
        completion_tokens: Math.ceil(content.length / 4),
        total_tokens: Math.ceil((system.length + user.length + content.length) / 4),
      },
    });
  }
}

/** Helpers to write scripts briefly. */
export const answer = {
  plan: (steps: Array<{ id: string; title: string }> = [{ id: 'main', title: 'Analyse the data' }]): Reply => ({
    purpose: 'plan',
    content: JSON.stringify({
      steps: steps.map((step) => ({ ...step, description: step.title, dependsOn: [] })),
    }),
  }),
  code: (code: string): Reply => ({
    purpose: 'code',
    content: `Here is the program:\n\n\`\`\`python\n${code}\n\`\`\`\n`,
  }),
  analysis: (text: string): Reply => ({ purpose: 'analysis', content: text }),
  /**
   * A code answer chosen by the step the request asks for, for steps that run in parallel; an
   * HttpFailure value makes the endpoint refuse that step's call.
   */
  codeForStep: (codeByStep: Record<string, string | HttpFailure>): Reply => ({
    purpose: 'code',
    content: (request) => {
      const stepId = /Write the code for step "([^"]+)"/.exec(request.user)?.[1] ?? '';
      const code = codeByStep[stepId];
      if (code === undefined) throw new Error(`fake model: no code scripted for step "${stepId}"`);
      return typeof code === 'string' ? `\`\`\`python\n${code}\n\`\`\`` : code;
    },
  }),
};
