import hljs from 'highlight.js/lib/core';
import python from 'highlight.js/lib/languages/python';

hljs.registerLanguage('python', python);

/** Python code, highlighted (highlight.js escapes what it is given, so its HTML is safe to insert). */
export function CodeBlock({ code, label }: { code: string; label: string }) {
  const html = hljs.highlight(code, { language: 'python', ignoreIllegals: true }).value;
  return (
    <pre className="code" aria-label={label} tabIndex={0}>
      <code className="hljs language-python" dangerouslySetInnerHTML={{ __html: html }} />
    </pre>
  );
}
