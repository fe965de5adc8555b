import { Link } from 'react-router-dom';

export function NotFoundPage() {
  return (
    <section>
      <h1>No such page</h1>
      <p>
        <Link to="/runs">See the runs</Link>
      </p>
    </section>
  );
}
