import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Purpose = 'plan' | 'code' | 'analysis';

/** How a request asked for its answer: a JSON schema, any JSON object, or plain text. */
export type Format = 'json_schema' | 'json_object' | 'text';

export interface RecordedRequest {
  purpose: Purpose;
  model: string;
  system: string;
  user: string;
  /** Any JSON response format was asked for. */
  json: boolean;
  format: Format;
  /** The JSON schema sent with a `json_schema` request. */
  schema: Record<string, unknown> | null;
  stream: boolean;
  /** When the request arrived (ms since the epoch). */
  at: number;
}

/** One scripted answer: the text to send back, an HTTP error, or no answer at all. */
export type Reply =
  | { purpose: Purpose; content: string | ((request: RecordedRequest) => string | HttpFailure) }
  | ({ purpose: Purpose } & HttpFailure)
  /** The endpoint takes the request and never answers (until the client gives up). */
  | { purpose: Purpose; hang: true };

/** An error answer of the endpoint: its HTTP status, message, and optionally its code and headers. */
export interface HttpFailure {
  status: number;
  message: string;
  code?: string;
  headers?: Record<string, string>;
}

/** How the endpoint behaves, beside its scripted answers: real endpoints differ in these. */
export interface EndpointBehaviour {
  /** Response formats it refuses with a 400, as endpoints without structured outputs do. */
  refuses: Format[];
  /**
   * It takes any response format and answers in prose anyway, as endpoints that ignore
   * `response_format` do: the scripted text comes with a sentence before and after it.
   */
  ignoresFormat: boolean;
  /** A streamed answer is sent in pieces of this many characters… */
  streamPieceChars: number;
  /** …this long apart. */
  streamPieceDelayMs: number;
}

const DEFAULT_BEHAVIOUR: EndpointBehaviour = {
  refuses: [],
  ignoresFormat: false,
  streamPieceChars: 8,
  streamPieceDelayMs: 0,
};

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

  /** For each streamed answer, in order: when its first piece of text was written to the socket. */
  readonly firstPieceAt: number[] = [];
  private standing: ((request: RecordedRequest) => Reply) | null = null;
  private latencyMs = 0;
  private behaviour: EndpointBehaviour = { ...DEFAULT_BEHAVIOUR };

  /** Makes the endpoint behave like another kind of endpoint until `reset()`. */
  behave(behaviour: Partial<EndpointBehaviour>): this {
    this.behaviour = { ...this.behaviour, ...behaviour };
    return this;
  }

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
    this.behaviour = { ...DEFAULT_BEHAVIOUR };
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
      response_format?: { type: string; json_schema?: { schema?: Record<string, unknown> } };
      stream?: boolean;
    };
    const system = body.messages.find((message) => message.role === 'system')?.content ?? '';
    const user = body.messages.find((message) => message.role === 'user')?.content ?? '';
    const type = body.response_format?.type;
    const format: Format = type === 'json_schema' ? 'json_schema' : type === 'json_object' ? 'json_object' : 'text';
    const request: RecordedRequest = {
      purpose: purposeOf(system),
      model: body.model,
      system,
      user,
      json: format !== 'text',
      format,
      schema: body.response_format?.json_schema?.schema ?? null,
      stream: body.stream === true,
      at: Date.now(),
    };
    this.requests.push(request);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (format !== 'text' && this.behaviour.refuses.includes(format) && !this.behaviour.ignoresFormat) {
      // What endpoints without structured outputs answer; no scripted reply is used up.
      return send(400, {
        error: {
          message: `response_format of type '${format}' is not supported by this model`,
          type: 'invalid_request_error',
          param: 'response_format',
        },
      });
    }
    const reply = this.replies.shift() ?? this.standing?.(request);
    if (!reply || reply.purpose !== request.purpose) {
      const problem = reply
        ? `fake model: expected a ${reply.purpose} call, got a ${request.purpose} call`
        : `fake model: unscripted ${request.purpose} call (#${this.requests.length})`;
      this.problems.push(problem);
      return send(400, { error: { message: problem, type: 'invalid_request_error' } });
    }
    const fail = (failure: HttpFailure) => {
      res.writeHead(failure.status, { 'content-type': 'application/json', ...failure.headers });
      res.end(JSON.stringify({ error: { message: failure.message, ...(failure.code ? { code: failure.code } : {}) } }));
    };
    if ('hang' in reply) return; // the connection stays open, unanswered
    if ('status' in reply) return fail(reply);
    const scripted = typeof reply.content === 'function' ? reply.content(request) : reply.content;
    if (typeof scripted !== 'string') return fail(scripted);
    const content = this.behaviour.ignoresFormat ? `Sure! Here it is:\n${scripted}\nI hope this helps.` : scripted;
    const usage = {
      prompt_tokens: Math.ceil((system.length + user.length) / 4),
      completion_tokens: Math.ceil(content.length / 4),
      total_tokens: Math.ceil((system.length + user.length + content.length) / 4),
    };
    if (request.stream) return this.stream(res, body.model, content, usage);
    send(200, {
      id: `chatcmpl-${this.requests.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage,
    });
  }

  /** A streamed answer, as OpenAI sends it: Server-Sent Events of deltas, the usage last, then [DONE]. */
  private async stream(res: http.ServerResponse, model: string, content: string, usage: object): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const id = `chatcmpl-${this.requests.length}`;
    const created = Math.floor(Date.now() / 1000);
    const event = (delta: object, finish: string | null, extra: object = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
    res.write(event({ role: 'assistant', content: '' }, null));
    const { streamPieceChars, streamPieceDelayMs } = this.behaviour;
    for (let at = 0; at < content.length; at += streamPieceChars) {
      if (streamPieceDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, streamPieceDelayMs));
      if (res.destroyed) return;
      if (at === 0) this.firstPieceAt.push(Date.now());
      res.write(event({ content: content.slice(at, at + streamPieceChars) }, null));
    }
    res.write(event({}, 'stop'));
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`,
    );
    res.end('data: [DONE]\n\n');
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
