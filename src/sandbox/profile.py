# Profiles the data files in the working directory, inside the sandbox: the format (CSV with its
# delimiter and encoding, TSV, JSON, JSON lines, Excel, Parquet), the shape, each column's type,
# missing values and a few examples, and a short sample. Writes one JSON document to OUTPUT_NAME.
# A file that cannot be read is described as such, never fatal. The caller puts the names in for
# the two placeholders below (as JSON, which is valid Python for a string and a list of strings).
import codecs, csv, io, json, math, os

OUTPUT_NAME = __OUTPUT_NAME__
FILES = __FILES__
MAX_COLUMNS = 50
EXAMPLES = 3
EXAMPLE_CHARS = 40
SAMPLE_ROWS = 5
SAMPLE_CHARS = 1500
SNIFF_BYTES = 64 * 1024


def clip(text, limit):
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + '…'


def plain(value):
    """A JSON-safe rendering of one cell."""
    if hasattr(value, 'item') and callable(value.item):  # a numpy scalar
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    try:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
    except TypeError:
        pass
    if isinstance(value, (bool, int, str)):
        return clip(value, EXAMPLE_CHARS) if isinstance(value, str) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return clip(value, EXAMPLE_CHARS)


def looks_binary(head):
    """NUL bytes, or many control characters: not text, whatever an 8-bit encoding would make of it."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b'\x00' in head:
        return True
    controls = sum(1 for byte in head[:4096] if byte < 32 and byte not in (9, 10, 13))
    return controls > len(head[:4096]) * 0.05


def encoding_of(head):
    if head.startswith(codecs.BOM_UTF8):
        return 'utf-8-sig'
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return 'utf-16'
    try:
        head.decode('utf-8')
        return 'utf-8'
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sniffed bytes is still UTF-8.
        if error.start >= len(head) - 3:
            return 'utf-8'
    for candidate in ('cp1252', 'latin-1'):
        try:
            head.decode(candidate)
            return candidate
        except UnicodeDecodeError:
            continue
    return None


def describe_frame(frame, profile):
    import pandas as pd

    profile['rows'] = int(len(frame))
    profile['columnCount'] = int(len(frame.columns))
    columns = []
    for name in list(frame.columns)[:MAX_COLUMNS]:
        series = frame[name]
        if isinstance(series, pd.DataFrame):  # duplicate column names
            series = series.iloc[:, 0]
        present = series.dropna()
        column = {
            'name': clip(name, 100),
            'dtype': str(series.dtype),
            'missing': int(series.isna().sum()),
            'examples': [plain(value) for value in present.drop_duplicates().head(EXAMPLES).tolist()],
        }
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series) and len(present) > 0:
            column['min'] = plain(present.min())
            column['max'] = plain(present.max())
        elif len(present) > 0:
            column['distinct'] = int(present.astype(str).nunique())
        columns.append(column)
    profile['columns'] = columns
    if len(frame.columns) > MAX_COLUMNS:
        profile['columnsLeftOut'] = int(len(frame.columns) - MAX_COLUMNS)
    profile['sample'] = clip(frame.head(SAMPLE_ROWS).to_csv(index=False), SAMPLE_CHARS)


def profile_delimited(path, head, profile, extension):
    import pandas as pd

    encoding = encoding_of(head)
    if encoding is None:
        profile['format'] = 'binary'
        profile['error'] = 'the file is not text in any encoding the sandbox recognises'
        return
    text = head.decode(encoding, errors='ignore')
    delimiter = '\t' if extension == '.tsv' else ','
    try:
        delimiter = csv.Sniffer().sniff(text[:20000], delimiters=',;\t|').delimiter
    except csv.Error:
        pass
    profile['format'] = 'tsv' if delimiter == '\t' else 'csv'
    profile['encoding'] = encoding
    profile['delimiter'] = delimiter
    options = {'sep': delimiter, 'encoding': encoding, 'low_memory': False}
    if delimiter == ';':
        # Where ';' separates the fields, ',' is usually the decimal mark.
        options['decimal'] = ','
        profile['decimal'] = ','
    frame = pd.read_csv(path, **options)
    describe_frame(frame, profile)


def profile_json(path, head, profile):
    import pandas as pd

    encoding = encoding_of(head) or 'utf-8'
    with open(path, encoding=encoding) as handle:
        text = handle.read()
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        # Several documents, one a line: JSON lines.
        profile['format'] = 'jsonl'
        frame = pd.read_json(io.StringIO(text), lines=True)
        describe_frame(frame, profile)
        return
    profile['format'] = 'json'
    if isinstance(document, list) and all(isinstance(item, dict) for item in document[:100]):
        describe_frame(pd.json_normalize(document, max_level=1), profile)
    elif isinstance(document, dict):
        profile['keys'] = [clip(key, 100) for key in list(document)[:MAX_COLUMNS]]
        tables = [key for key, value in document.items() if isinstance(value, list) and value and isinstance(value[0], dict)]
        if tables:
            profile['table'] = clip(tables[0], 100)
            describe_frame(pd.json_normalize(document[tables[0]], max_level=1), profile)
        else:
            profile['sample'] = clip(json.dumps(document, default=str)[:SAMPLE_CHARS], SAMPLE_CHARS)
    else:
        profile['sample'] = clip(json.dumps(document, default=str), SAMPLE_CHARS)


def profile_excel(path, profile):
    import pandas as pd

    profile['format'] = 'excel'
    sheets = pd.read_excel(path, sheet_name=None)
    profile['sheets'] = [clip(name, 100) for name in sheets]
    first = next(iter(sheets))
    profile['sheet'] = clip(first, 100)
    describe_frame(sheets[first], profile)


def profile_parquet(path, profile):
    import pandas as pd

    profile['format'] = 'parquet'
    try:
        frame = pd.read_parquet(path)
    except ImportError:
        profile['error'] = 'no reader for Parquet in the sandbox (pyarrow or fastparquet is not installed)'
        return
    describe_frame(frame, profile)


def profile_file(name):
    profile = {'name': name, 'size': os.path.getsize(name)}
    extension = os.path.splitext(name)[1].lower()
    with open(name, 'rb') as handle:
        head = handle.read(SNIFF_BYTES)
    try:
        if profile['size'] == 0:
            profile['format'] = 'empty'
        elif head.startswith(b'PAR1') or extension == '.parquet':
            profile_parquet(name, profile)
        elif head.startswith(b'PK\x03\x04') and extension in ('.xlsx', '.xlsm', '') or extension in ('.xlsx', '.xlsm', '.xls'):
            profile_excel(name, profile)
        elif head.lstrip(codecs.BOM_UTF8).lstrip()[:1] in (b'{', b'[') or extension in ('.json', '.jsonl', '.ndjson'):
            profile_json(name, head, profile)
        elif looks_binary(head):
            profile['format'] = 'binary'
            profile['error'] = 'a binary file in no format the sandbox reads'
        else:
            profile_delimited(name, head, profile, extension)
    except ImportError as error:
        profile['error'] = f'no reader for this format in the sandbox ({error.name or error} is not installed)'
    except Exception as error:  # noqa: BLE001 - any failure to read is described, not raised
        profile['error'] = clip(f'{type(error).__name__}: {error}', 300)
    return profile


profiles = [profile_file(name) for name in FILES if os.path.isfile(name)]
with open(OUTPUT_NAME, 'w', encoding='utf-8') as out:
    json.dump({'files': profiles}, out, default=str)
print(f'profiled {len(profiles)} file(s)')
