// The checks of the OCI distribution-spec conformance suite (opencontainers/distribution-spec,
// conformance/01_pull_test.go, 02_push_test.go, 03_discovery_test.go, 04_management_test.go,
// 05_referrers.go, with the test data of setup.go), written anew against our server over
// HTTP. Each `describe` is one of the suite's workflows; where the suite accepts several
// answers, so do these tests. Every test starts its own server and pushes what it needs,
// where the suite runs its specs in order against one registry.
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from './memory-store.ts';
import { type RunningServer, type StartServerOptions, startServer } from './start-server.ts';

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function start(options: Partial<StartServerOptions> = {}): Promise<RunningServer> {
  const server = await startServer({ store: createMemoryStore(), ...options });
  running.push(server);
  return server;
}

// --- Test data, shaped as the suite's setup.go shapes its own. ---

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/** Content and its digest. */
interface Content {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly digest: string;
}

const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const contentOf = (bytes: Uint8Array): Content => ({ bytes: new Uint8Array(bytes), digest: sha256(bytes) });
const textContent = (value: string) => contentOf(new TextEncoder().encode(value));
// The suite serialises with Go's json.MarshalIndent and a tab.
const jsonContent = (value: unknown) => textContent(JSON.stringify(value, null, '\t'));
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

// The suite's descriptors always carry `newUnspecifiedField` (null unless set): a registry
// must keep and serve manifests with fields the image-spec does not know.
const descriptor = (mediaType: string, content: Content, extra: Record<string, unknown> = {}) => ({
  mediaType,
  digest: content.digest,
  size: content.bytes.byteLength,
  newUnspecifiedField: null,
  ...extra,
});

const imageConfig = (workflow: string) =>
  jsonContent({
    author: `${workflow}-${randomBytes(8).toString('hex')}`, // a digest of its own per workflow
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
  });

// The config descriptor embeds its content (`data`) and an unknown field with a value.
const configDescriptor = (config: Content) =>
  descriptor(OCI_CONFIG, config, {
    data: base64(config.bytes),
    newUnspecifiedField: base64(new TextEncoder().encode('hello world')),
  });

const layer = contentOf(gzipSync(new TextEncoder().encode('a layer of the conformance port\n')));

// One config and one manifest per workflow, indexed as the suite indexes them: 0 pull,
// 1 push, 2 content discovery, 3 content management (and the subject no one pushes in
// discovery), 4 the subject of the referrers.
const configs = ['pull', 'push', 'discovery', 'management', 'referrers'].map(imageConfig) as [
  Content,
  Content,
  Content,
  Content,
  Content,
];
const manifests = configs.map((config) =>
  jsonContent({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDescriptor(config),
    layers: [descriptor(OCI_LAYER_GZIP, layer)],
  }),
) as [Content, Content, Content, Content, Content];

// No `mediaType` field and no layers: only the Content-Type names it.
const emptyLayerManifest = jsonContent({
  schemaVersion: 2,
  config: configDescriptor(configs[1]),
  layers: [],
});

const blobA = contentOf(randomBytes(42));
const blobB = contentOf(randomBytes(42));
const chunk1 = blobB.bytes.slice(0, 22);
const chunk2 = blobB.bytes.slice(22);
const chunk1Range = `0-${chunk1.byteLength - 1}`;
const chunk2Range = `${chunk1.byteLength}-${blobB.bytes.byteLength - 1}`;

const dummyDigest = sha256('hello world'); // pushed nowhere
const nonexistentManifest = '.INVALID_MANIFEST_NAME'; // neither a tag nor a digest

// The referrers: artifacts of two types, some typed by their config's media type and some
// by `artifactType`, an index artifact, and one whose subject is never pushed.
const emptyJson = textContent('{}');
const refBlobA = textContent('referrer blob a, pushed before its subject');
const refBlobB = textContent('referrer blob b, pushed after its subject');
const ARTIFACT_TYPE_A = 'application/vnd.example.conformance.a';
const ARTIFACT_TYPE_B = 'application/vnd.example.conformance.b';
const ARTIFACT_TYPE_INDEX = 'application/vnd.example.conformance.index';
const ANNOTATION = 'org.opencontainers.conformance.test';
const subject = descriptor(OCI_MANIFEST, manifests[4]);
const missingSubject = descriptor(OCI_MANIFEST, manifests[3]);

const typedByConfig = (type: string, blob: Content, note: string) =>
  jsonContent({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptor(type, blob),
    layers: [descriptor(OCI_EMPTY, emptyJson)],
    subject,
    annotations: { [ANNOTATION]: note },
  });
const typedByArtifactType = (type: string, blob: Content, about: object, note?: string) =>
  jsonContent({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: type,
    config: descriptor(OCI_EMPTY, emptyJson),
    layers: [descriptor(type, blob)],
    subject: about,
    ...(note === undefined ? {} : { annotations: { [ANNOTATION]: note } }),
  });

const refsAConfig = typedByConfig(ARTIFACT_TYPE_A, refBlobA, 'test config a');
const refsBConfig = typedByConfig(ARTIFACT_TYPE_B, refBlobB, 'test config b');
const refsALayer = typedByArtifactType(ARTIFACT_TYPE_A, refBlobA, subject, 'test layer a');
const refsBLayer = typedByArtifactType(ARTIFACT_TYPE_B, refBlobB, subject, 'test layer b');
const refsCLayer = typedByArtifactType(ARTIFACT_TYPE_B, refBlobB, missingSubject);
const refsIndex = jsonContent({
  schemaVersion: 2,
  mediaType: OCI_INDEX,
  artifactType: ARTIFACT_TYPE_INDEX,
  manifests: [descriptor(OCI_MANIFEST, refsAConfig), descriptor(OCI_MANIFEST, refsALayer)],
  subject,
  annotations: { [ANNOTATION]: 'test index' },
});
const annotationOf: Record<string, string> = {
  [refsAConfig.digest]: 'test config a',
  [refsBConfig.digest]: 'test config b',
  [refsALayer.digest]: 'test layer a',
  [refsBLayer.digest]: 'test layer b',
  [refsIndex.digest]: 'test index',
};

// The spec's error codes ("Error Codes"), as setup.go lists them.
const SPEC_ERROR_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'MANIFEST_UNVERIFIED',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'TAG_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
];

// --- HTTP, as the suite's client speaks it. ---

const NAME = 'conformance/test'; // the suite's OCI_NAMESPACE
const CROSSMOUNT = 'conformance/crossmount'; // its OCI_CROSSMOUNT_NAMESPACE

const call = (server: RunningServer, path: string, init: RequestInit = {}) =>
  fetch(new URL(path, server.url), init);

/** The `Location` of an answer, resolved against the server; it must be there. */
function locationOf(server: RunningServer, answer: Response): URL {
  const location = answer.headers.get('location');
  expect(location, `${answer.status} answer without a Location`).toBeTruthy();
  return new URL(location as string, server.url);
}

const withDigest = (url: URL, digest: string) => {
  const finished = new URL(url);
  finished.searchParams.set('digest', digest);
  return finished;
};

const octetStream = { 'content-type': 'application/octet-stream' };
const post: RequestInit = { method: 'POST' };

async function errorCodesOf(answer: Response): Promise<string[]> {
  const body = (await answer.json()) as { errors?: Array<{ code?: unknown }> };
  expect(body.errors, 'an error body {errors:[…]}').toBeInstanceOf(Array);
  return (body.errors ?? []).map((error) => String(error.code));
}

const isSuccess = (status: number) => status >= 200 && status < 300;

/** POST then PUT with the whole blob, as the suite's setups push every blob; the PUT's answer. */
async function pushBlob(server: RunningServer, name: string, blob: Content): Promise<Response> {
  const started = await call(server, `/v2/${name}/blobs/uploads/`, post);
  return fetch(withDigest(locationOf(server, started), blob.digest), {
    method: 'PUT',
    headers: octetStream,
    body: blob.bytes,
  });
}

function putManifest(
  server: RunningServer,
  name: string,
  reference: string,
  manifest: Content,
  mediaType = OCI_MANIFEST,
): Promise<Response> {
  return call(server, `/v2/${name}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body: manifest.bytes,
  });
}

async function expectPushed(answer: Promise<Response>): Promise<Response> {
  const done = await answer;
  expect(done.status, 'a 2xx').toSatisfy(isSuccess);
  return done;
}

const deleteAt = (server: RunningServer, path: string) => call(server, path, { method: 'DELETE' });

describe('OCI distribution-spec conformance', () => {
  describe('Pull', () => {
    const tag = 'tagtest0';

    // 01_pull_test.go, "Setup": two configs and a layer by POST then PUT, manifest[0] by
    // tag, manifest[1] by digest, each answered 2xx.
    async function setUp(server: RunningServer): Promise<void> {
      for (const blob of [configs[0], configs[1], layer]) await expectPushed(pushBlob(server, NAME, blob));
      await expectPushed(putManifest(server, NAME, tag, manifests[0]));
      await expectPushed(putManifest(server, NAME, manifests[1].digest, manifests[1]));
    }

    it('populates the registry: blobs by POST then PUT, a manifest by tag and one by digest, each 2xx', async () => {
      const server = await start();
      await setUp(server);
      expect((await call(server, `/v2/${NAME}/manifests/${tag}`)).status).toBe(200);
    });

    it('HEAD of a blob: 404 when unknown, 200 with its Docker-Content-Digest when there', async () => {
      const server = await start();
      await setUp(server);
      const unknown = await call(server, `/v2/${NAME}/blobs/${dummyDigest}`, { method: 'HEAD' });
      expect(unknown.status).toBe(404);
      const known = await call(server, `/v2/${NAME}/blobs/${configs[0].digest}`, { method: 'HEAD' });
      expect(known.status).toBe(200);
      const digest = known.headers.get('docker-content-digest');
      if (digest !== null) expect(digest).toBe(configs[0].digest);
    });

    it('GET of a blob: 404 BLOB_UNKNOWN when unknown, 200 with its bytes when there', async () => {
      const server = await start();
      await setUp(server);
      const unknown = await call(server, `/v2/${NAME}/blobs/${dummyDigest}`);
      expect(unknown.status).toBe(404);
      expect(await errorCodesOf(unknown)).toContain('BLOB_UNKNOWN');
      const known = await call(server, `/v2/${NAME}/blobs/${configs[0].digest}`);
      expect(known.status).toBe(200);
      expect(new Uint8Array(await known.arrayBuffer())).toEqual(configs[0].bytes);
    });

    it('HEAD of a manifest: 404 when unknown, 200 with its Docker-Content-Digest by digest and by tag', async () => {
      const server = await start();
      await setUp(server);
      const accept = { accept: OCI_MANIFEST };
      const unknown = await call(server, `/v2/${NAME}/manifests/${nonexistentManifest}`, {
        method: 'HEAD',
        headers: accept,
      });
      expect(unknown.status).toBe(404);
      for (const [reference, expected] of [
        [manifests[0].digest, manifests[0].digest],
        [manifests[1].digest, manifests[1].digest],
        [tag, manifests[0].digest],
      ] as const) {
        const head = await call(server, `/v2/${NAME}/manifests/${reference}`, {
          method: 'HEAD',
          headers: accept,
        });
        expect(head.status, `HEAD ${reference}`).toBe(200);
        const digest = head.headers.get('docker-content-digest');
        if (digest !== null) expect(digest, `HEAD ${reference}`).toBe(expected);
      }
    });

    it('GET of a manifest: 404 when unknown, 200 with its type and bytes by digest and by tag', async () => {
      const server = await start();
      await setUp(server);
      const accept = { accept: OCI_MANIFEST };
      const unknown = await call(server, `/v2/${NAME}/manifests/${nonexistentManifest}`, { headers: accept });
      expect(unknown.status).toBe(404);
      for (const [reference, expected] of [
        [manifests[0].digest, manifests[0]],
        [manifests[1].digest, manifests[1]],
        [tag, manifests[0]],
      ] as const) {
        const got = await call(server, `/v2/${NAME}/manifests/${reference}`, { headers: accept });
        expect(got.status, `GET ${reference}`).toBe(200);
        expect(got.headers.get('content-type'), `GET ${reference}`).toBe(OCI_MANIFEST);
        expect(new Uint8Array(await got.arrayBuffer()), `GET ${reference}`).toEqual(expected.bytes);
      }
    });

    it('GET of a manifest through another repository: 404', async () => {
      const server = await start();
      await setUp(server);
      for (const reference of [manifests[0].digest, tag]) {
        const elsewhere = await call(server, `/v2/conformance/other/manifests/${reference}`, {
          headers: { accept: OCI_MANIFEST },
        });
        expect(elsewhere.status, `GET ${reference}`).toBe(404);
        expect(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']).toContain((await errorCodesOf(elsewhere))[0]);
      }
    });

    it('"Error codes": a malformed digest reference is 400 with a spec error code, or 404', async () => {
      const server = await start();
      await setUp(server);
      const answer = await call(server, `/v2/${NAME}/manifests/sha256:totallywrong`, {
        headers: { accept: OCI_MANIFEST },
      });
      expect([400, 404]).toContain(answer.status);
      if (answer.status === 400) {
        const codes = await errorCodesOf(answer);
        expect(codes).not.toHaveLength(0);
        expect(SPEC_ERROR_CODES).toContain(codes[0]);
      }
    });

    it('"Teardown": manifests delete with 2xx or 405, then blobs with 2xx, 404 or 405', async () => {
      const server = await start();
      await setUp(server);
      for (const manifest of [manifests[0], manifests[1]]) {
        const answer = await deleteAt(server, `/v2/${NAME}/manifests/${manifest.digest}`);
        expect(answer.status).toSatisfy((status: number) => isSuccess(status) || status === 405);
      }
      for (const blob of [configs[0], configs[1], layer]) {
        const answer = await deleteAt(server, `/v2/${NAME}/blobs/${blob.digest}`);
        expect(answer.status).toSatisfy((status: number) => isSuccess(status) || [404, 405].includes(status));
      }
    });
  });

  describe('Push', () => {
    it('"Blob Upload Streamed": PATCH without Content-Range is 202, PUT with the digest 201 with a Location', async () => {
      const server = await start();
      const started = await call(server, `/v2/${NAME}/blobs/uploads/`, post);
      const session = locationOf(server, started);
      const patched = await fetch(session, { method: 'PATCH', headers: octetStream, body: blobA.bytes });
      expect(patched.status).toBe(202);
      const finished = await fetch(withDigest(locationOf(server, patched), blobA.digest), {
        method: 'PUT',
        headers: octetStream,
      });
      expect(finished.status).toBe(201);
      locationOf(server, finished);
      expect(
        new Uint8Array(await (await call(server, `/v2/${NAME}/blobs/${blobA.digest}`)).arrayBuffer()),
      ).toEqual(blobA.bytes);
    });

    it('"Blob Upload Monolithic": a single POST with ?digest= is 201 or 202 with a Location, the blob there to match', async () => {
      const server = await start();
      expect((await call(server, `/v2/${NAME}/blobs/${dummyDigest}`)).status).toBe(404);
      const posted = await call(server, `/v2/${NAME}/blobs/uploads/?digest=${configs[1].digest}`, {
        method: 'POST',
        headers: octetStream,
        body: configs[1].bytes,
      });
      locationOf(server, posted);
      expect([201, 202]).toContain(posted.status);
      const got = await call(server, `/v2/${NAME}/blobs/${configs[1].digest}`);
      expect(got.status).toBe(posted.status === 202 ? 404 : 200);
    });

    it('"Blob Upload Monolithic": POST is 202, then PUT of the whole blob 201 with a Location, for a config and a layer', async () => {
      const server = await start();
      for (const blob of [configs[1], layer]) {
        const started = await call(server, `/v2/${NAME}/blobs/uploads/`, post);
        expect(started.status).toBe(202);
        const put = await fetch(withDigest(locationOf(server, started), blob.digest), {
          method: 'PUT',
          headers: octetStream,
          body: blob.bytes,
        });
        locationOf(server, put);
        expect(put.status).toBe(201);
        expect((await call(server, `/v2/${NAME}/blobs/${blob.digest}`)).status).toBe(200);
      }
    });

    it('"Blob Upload Chunked": a first chunk that does not start the upload is 416', async () => {
      const server = await start();
      const started = await call(server, `/v2/${NAME}/blobs/uploads/`, post);
      const session = locationOf(server, started);
      // The suite sizes its chunks up to OCI-Chunk-Min-Length; we announce no minimum.
      expect(started.headers.get('oci-chunk-min-length')).toBeNull();
      const outOfOrder = await fetch(session, {
        method: 'PATCH',
        headers: { ...octetStream, 'content-range': chunk2Range },
        body: chunk2,
      });
      expect(outOfOrder.status).toBe(416);
    });

    it('"Blob Upload Chunked": chunks in order are 202 with Range, a retried chunk 416, status GET 204, PUT 201', async () => {
      const server = await start();
      const started = await call(server, `/v2/${NAME}/blobs/uploads/`, post);
      const session = locationOf(server, started);
      const first = await fetch(session, {
        method: 'PATCH',
        headers: { ...octetStream, 'content-range': chunk1Range },
        body: chunk1,
      });
      expect(first.status).toBe(202);
      expect(first.headers.get('range')).toBe(chunk1Range);

      const retried = await fetch(session, {
        method: 'PATCH',
        headers: { ...octetStream, 'content-range': chunk1Range },
        body: chunk1,
      });
      expect(retried.status).toBe(416);

      const status = await fetch(session);
      expect(status.status).toBe(204);
      const resumeAt = locationOf(server, status);
      expect(status.headers.get('range')).toBe(chunk1Range);

      const second = await fetch(resumeAt, {
        method: 'PATCH',
        headers: { ...octetStream, 'content-range': chunk2Range },
        body: chunk2,
      });
      expect(second.status).toBe(202);
      const finishAt = locationOf(server, second);

      const finished = await fetch(withDigest(finishAt, blobB.digest), {
        method: 'PUT',
        headers: octetStream,
      });
      expect(finished.status).toBe(201);
      locationOf(server, finished);
      expect(
        new Uint8Array(await (await call(server, `/v2/${NAME}/blobs/${blobB.digest}`)).arrayBuffer()),
      ).toEqual(blobB.bytes);
    });

    it('"Cross-Repository Blob Mount": a mount without from of a blob nowhere starts a session (202, Location)', async () => {
      const server = await start();
      const answer = await call(server, `/v2/${CROSSMOUNT}/blobs/uploads/?mount=${dummyDigest}`, post);
      expect(answer.status).toBe(202);
      locationOf(server, answer);
    });

    it('"Cross-Repository Blob Mount": a mount from another repository is 201 at the blob, or 202 with a session', async () => {
      const server = await start();
      await expectPushed(pushBlob(server, NAME, blobA));
      const answer = await call(
        server,
        `/v2/${CROSSMOUNT}/blobs/uploads/?mount=${blobA.digest}&from=${NAME}`,
        post,
      );
      expect([201, 202]).toContain(answer.status);
      const location = locationOf(server, answer);
      if (answer.status === 201) {
        expect(location.pathname).toBe(`/v2/${CROSSMOUNT}/blobs/${blobA.digest}`);
        expect((await fetch(location)).status).toBe(200);
      } else {
        expect(location.pathname.startsWith(`/v2/${CROSSMOUNT}/blobs/uploads/`)).toBe(true);
      }
    });

    // The suite mounts into the repository the mount with from filled; a fresh one shows discovery.
    it('"Cross-Repository Blob Mount": without from, automatic content discovery on (our default) is 201', async () => {
      const server = await start();
      await expectPushed(pushBlob(server, NAME, blobA));
      const answer = await call(server, `/v2/${CROSSMOUNT}/blobs/uploads/?mount=${blobA.digest}`, post);
      expect(answer.status).toBe(201);
      expect((await call(server, `/v2/${CROSSMOUNT}/blobs/${blobA.digest}`)).status).toBe(200);
    });

    it('"Cross-Repository Blob Mount": without from, automatic content discovery off is 202', async () => {
      const server = await start({ discoverContent: false });
      await expectPushed(pushBlob(server, NAME, blobA));
      const mounted = await call(
        server,
        `/v2/${CROSSMOUNT}/blobs/uploads/?mount=${blobA.digest}&from=${NAME}`,
        post,
      );
      expect(mounted.status, 'the suite runs this only after a mount with from was 201').toBe(201);
      // Into the repository that now holds the blob, as the suite does, and into one that does not.
      for (const name of [CROSSMOUNT, `${CROSSMOUNT}-2`]) {
        const answer = await call(server, `/v2/${name}/blobs/uploads/?mount=${blobA.digest}`, post);
        expect(answer.status, name).toBe(202);
        expect(locationOf(server, answer).pathname.startsWith(`/v2/${name}/blobs/uploads/`)).toBe(true);
      }
    });

    it('"Manifest Upload": an unknown manifest is 404; PUT by four tags is 201 with a Location; GET by digest 200', async () => {
      const server = await start();
      for (const blob of [configs[1], layer]) await expectPushed(pushBlob(server, NAME, blob));
      expect((await call(server, `/v2/${NAME}/manifests/${nonexistentManifest}`)).status).toBe(404);
      for (const tag of ['test0', 'test1', 'test2', 'test3']) {
        const put = await putManifest(server, NAME, tag, manifests[1]);
        locationOf(server, put);
        expect(put.status, `PUT ${tag}`).toBe(201);
      }
      const got = await call(server, `/v2/${NAME}/manifests/${manifests[1].digest}`, {
        headers: { accept: OCI_MANIFEST },
      });
      expect(got.status).toBe(200);
    });

    it('"Manifest Upload": PUT by digest is 201 with a Location and the Docker-Content-Digest', async () => {
      const server = await start();
      for (const blob of [configs[1], layer]) await expectPushed(pushBlob(server, NAME, blob));
      const put = await putManifest(server, NAME, manifests[1].digest, manifests[1]);
      expect(put.status).toBe(201);
      locationOf(server, put);
      const digest = put.headers.get('docker-content-digest');
      if (digest !== null) expect(digest).toBe(manifests[1].digest);
    });

    it('"Manifest Upload": a manifest with no layers (and no mediaType field) is 201 with a Location', async () => {
      const server = await start();
      await expectPushed(pushBlob(server, NAME, configs[1]));
      const put = await putManifest(server, NAME, 'emptylayer', emptyLayerManifest);
      // The suite only warns when a registry refuses it; a refusal must still be a spec error.
      if (put.status === 201) {
        locationOf(server, put);
        const got = await call(server, `/v2/${NAME}/manifests/emptylayer`, {
          headers: { accept: OCI_MANIFEST },
        });
        expect(new Uint8Array(await got.arrayBuffer())).toEqual(emptyLayerManifest.bytes);
      } else {
        expect(put.status).toBe(400);
        expect(SPEC_ERROR_CODES).toContain((await errorCodesOf(put))[0]);
      }
    });

    it('a manifest with a subject is 2xx with OCI-Subject naming the subject, pushed or not', async () => {
      const server = await start();
      for (const blob of [emptyJson, refBlobA, refBlobB]) await expectPushed(pushBlob(server, NAME, blob));
      for (const [referrer, about] of [
        [refsAConfig, manifests[4]],
        [refsALayer, manifests[4]],
        [refsCLayer, manifests[3]],
      ] as const) {
        const put = await expectPushed(putManifest(server, NAME, referrer.digest, referrer));
        expect(put.headers.get('oci-subject')).toBe(about.digest);
      }
      const index = await expectPushed(putManifest(server, NAME, refsIndex.digest, refsIndex, OCI_INDEX));
      expect(index.headers.get('oci-subject')).toBe(manifests[4].digest);
    });

    it('a manifest that names a blob the repository lacks is refused with MANIFEST_BLOB_UNKNOWN', async () => {
      const server = await start();
      await expectPushed(pushBlob(server, NAME, configs[1])); // but not the layer
      const put = await putManifest(server, NAME, 'test0', manifests[1]);
      expect(put.status).toBe(400);
      expect(await errorCodesOf(put)).toContain('MANIFEST_BLOB_UNKNOWN');
      expect((await call(server, `/v2/${NAME}/manifests/test0`)).status).toBe(404);
    });

    it('"Teardown": manifests delete with 2xx or 405, then blobs with 2xx, 404 or 405', async () => {
      const server = await start();
      for (const blob of [configs[1], layer]) await expectPushed(pushBlob(server, NAME, blob));
      await expectPushed(putManifest(server, NAME, 'test0', manifests[1]));
      await expectPushed(putManifest(server, NAME, 'emptylayer', emptyLayerManifest));
      for (const manifest of [manifests[1], emptyLayerManifest]) {
        const answer = await deleteAt(server, `/v2/${NAME}/manifests/${manifest.digest}`);
        expect(answer.status).toSatisfy((status: number) => isSuccess(status) || status === 405);
      }
      for (const blob of [configs[1], layer]) {
        const answer = await deleteAt(server, `/v2/${NAME}/blobs/${blob.digest}`);
        expect(answer.status).toSatisfy((status: number) => isSuccess(status) || [404, 405].includes(status));
      }
    });
  });

  describe('Content Discovery', () => {
    const tags = ['test0', 'test1', 'test2', 'test3'];

    // 03_discovery_test.go, "Setup": four tags of manifest[2], then the referrers of
    // manifest[4] (some pushed before it, some after) and one of manifest[3], which is
    // never pushed; every push 2xx and every referrer answered with OCI-Subject.
    async function setUp(server: RunningServer): Promise<void> {
      for (const blob of [configs[2], layer]) await expectPushed(pushBlob(server, NAME, blob));
      for (const tag of tags) await expectPushed(putManifest(server, NAME, tag, manifests[2]));

      expect(emptyJson.digest).toBe(
        'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      );
      const pushReferrer = async (referrer: Content, about: Content, mediaType = OCI_MANIFEST) => {
        const put = await expectPushed(putManifest(server, NAME, referrer.digest, referrer, mediaType));
        expect(put.headers.get('oci-subject'), 'OCI-Subject').toBe(about.digest);
      };
      await expectPushed(pushBlob(server, NAME, emptyJson));
      await expectPushed(pushBlob(server, NAME, refBlobA));
      await pushReferrer(refsAConfig, manifests[4]);
      await pushReferrer(refsALayer, manifests[4]);
      await pushReferrer(refsIndex, manifests[4], OCI_INDEX);
      for (const blob of [configs[4], layer]) await expectPushed(pushBlob(server, NAME, blob));
      await expectPushed(putManifest(server, NAME, 'tagtest0', manifests[4]));
      await expectPushed(pushBlob(server, NAME, refBlobB));
      await pushReferrer(refsBConfig, manifests[4]);
      await pushReferrer(refsBLayer, manifests[4]);
      await pushReferrer(refsCLayer, manifests[3]);
    }

    async function tagList(answer: Response): Promise<string[]> {
      const body = (await answer.json()) as { name?: unknown; tags?: unknown };
      expect(body.name).toBe(NAME);
      expect(body.tags).toBeInstanceOf(Array);
      return body.tags as string[];
    }

    interface ReferrersIndex {
      readonly schemaVersion: number;
      readonly mediaType?: string;
      readonly manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
    }

    async function referrers(answer: Response): Promise<ReferrersIndex> {
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe(OCI_INDEX);
      const index = (await answer.json()) as ReferrersIndex;
      expect(index.manifests).toBeInstanceOf(Array);
      return index;
    }

    // Each referrer listed with exactly the one annotation it was pushed with.
    function expectAnnotations(index: ReferrersIndex): void {
      for (const entry of index.manifests) {
        expect(Object.keys(entry.annotations ?? {}), entry.digest).toHaveLength(1);
        expect(entry.annotations?.[ANNOTATION], entry.digest).toBe(annotationOf[entry.digest]);
      }
    }

    it('"Setup": tags and referrers push with 2xx, each referrer answered with OCI-Subject', async () => {
      const server = await start();
      await setUp(server);
      expect((await call(server, `/v2/${NAME}/manifests/tagtest0`)).status).toBe(200);
    });

    it('lists tags: 200, in lexical order', async () => {
      const server = await start();
      await setUp(server);
      const answer = await call(server, `/v2/${NAME}/tags/list`);
      expect(answer.status).toBe(200);
      expect(await tagList(answer)).toEqual(['tagtest0', ...tags]);
    });

    it('limits the tag list with n, and links the next page', async () => {
      const server = await start();
      await setUp(server);
      const all = await tagList(await call(server, `/v2/${NAME}/tags/list`));
      const n = Math.floor(all.length / 2);
      const page = await call(server, `/v2/${NAME}/tags/list?n=${n}`);
      expect(page.status).toBe(200);
      const first = await tagList(page);
      expect(first).toHaveLength(n);
      expect(first).toEqual(all.slice(0, n));
      // "Listing Tags": the Link header names the next page (`?n=<n>&last=<last tag>`).
      const link = /<([^>]+)>;\s*rel="next"/.exec(page.headers.get('link') ?? '');
      expect(link, 'a Link header with rel="next"').not.toBeNull();
      const next = new URL(link?.[1] as string, server.url);
      expect(next.searchParams.get('n')).toBe(String(n));
      expect(next.searchParams.get('last')).toBe(first[n - 1]);
      const followed = await fetch(next);
      expect(followed.status).toBe(200);
      expect(await tagList(followed)).toEqual(all.slice(n, 2 * n));
    });

    it('starts the tag list after last', async () => {
      const server = await start();
      await setUp(server);
      const all = await tagList(await call(server, `/v2/${NAME}/tags/list`));
      const n = Math.floor(all.length / 2);
      const first = await tagList(await call(server, `/v2/${NAME}/tags/list?n=${n}`));
      const last = first[n - 1] as string;
      const answer = await call(server, `/v2/${NAME}/tags/list?n=${n}&last=${encodeURIComponent(last)}`);
      expect(answer.status).toBe(200);
      const rest = await tagList(answer);
      expect(rest.length).toBeLessThanOrEqual(n);
      expect(rest.every((tag) => tag > last)).toBe(true);
      expect(rest).toEqual(all.slice(n, 2 * n));
    });

    it('referrers of a digest nothing refers to: 200, an image index with no manifests', async () => {
      const server = await start();
      await setUp(server);
      const index = await referrers(await call(server, `/v2/${NAME}/referrers/${dummyDigest}`));
      expect(index.manifests).toHaveLength(0);
    });

    it('referrers of the subject: 200, the five referrers with their annotations', async () => {
      const server = await start();
      await setUp(server);
      const index = await referrers(await call(server, `/v2/${NAME}/referrers/${manifests[4].digest}`));
      expect(index.manifests).toHaveLength(5);
      expect(index.manifests[0]?.digest).not.toBe(index.manifests[1]?.digest);
      expect(index.manifests.map((entry) => entry.digest).sort()).toEqual(Object.keys(annotationOf).sort());
      expectAnnotations(index);
    });

    it('referrers filtered by artifactType: OCI-Filters-Applied: artifactType and the two of that type', async () => {
      const server = await start();
      await setUp(server);
      const answer = await call(
        server,
        `/v2/${NAME}/referrers/${manifests[4].digest}?artifactType=${encodeURIComponent(ARTIFACT_TYPE_A)}`,
      );
      const applied = answer.headers.get('oci-filters-applied');
      const index = await referrers(answer);
      // The suite accepts a registry that does not filter (and says so by leaving the header out).
      if (applied !== null) {
        expect(applied).toBe('artifactType');
        expect(index.manifests).toHaveLength(2);
        expect(index.manifests.map((entry) => entry.digest).sort()).toEqual(
          [refsAConfig.digest, refsALayer.digest].sort(),
        );
      } else {
        expect(index.manifests).toHaveLength(5);
      }
      expectAnnotations(index);
    });

    it('referrers of a subject never pushed: 200 with its one referrer', async () => {
      const server = await start();
      await setUp(server);
      const index = await referrers(await call(server, `/v2/${NAME}/referrers/${manifests[3].digest}`));
      expect(index.manifests).toHaveLength(1);
      expect(index.manifests[0]?.digest).toBe(refsCLayer.digest);
    });

    it('"Teardown": manifests and tags delete with 2xx, 404 or 405; config and layer with 2xx or 405', async () => {
      const server = await start();
      await setUp(server);
      const manifestGone = (status: number) => isSuccess(status) || [404, 405].includes(status);
      for (const reference of [
        refsIndex.digest,
        manifests[2].digest,
        manifests[4].digest,
        refsAConfig.digest,
        refsALayer.digest,
        'tagtest0',
        refsBConfig.digest,
        refsBLayer.digest,
        refsCLayer.digest,
      ]) {
        const answer = await deleteAt(server, `/v2/${NAME}/manifests/${reference}`);
        expect(answer.status, `DELETE ${reference}`).toSatisfy(manifestGone);
      }
      for (const blob of [configs[2], layer]) {
        const answer = await deleteAt(server, `/v2/${NAME}/blobs/${blob.digest}`);
        expect(answer.status, `DELETE ${blob.digest}`).toSatisfy(
          (status: number) => isSuccess(status) || status === 405,
        );
      }
      for (const blob of [configs[4], refBlobA, refBlobB, emptyJson]) {
        const answer = await deleteAt(server, `/v2/${NAME}/blobs/${blob.digest}`);
        expect(answer.status, `DELETE ${blob.digest}`).toSatisfy(manifestGone);
      }
    });
  });

  describe('Content Management', () => {
    const tag = 'tagtest0';

    // 04_management_test.go, "Setup": a config, a layer and manifest[3] by tag.
    async function setUp(server: RunningServer): Promise<number> {
      for (const blob of [configs[3], layer]) await expectPushed(pushBlob(server, NAME, blob));
      await expectPushed(putManifest(server, NAME, tag, manifests[3]));
      const listed = await call(server, `/v2/${NAME}/tags/list`);
      expect(listed.status).toBe(200);
      return ((await listed.json()) as { tags: string[] }).tags.length;
    }

    const deleteTag = async (server: RunningServer) => {
      const answer = await deleteAt(server, `/v2/${NAME}/manifests/${tag}`);
      expect([202, 400, 405]).toContain(answer.status);
      if (answer.status === 400) expect((await errorCodesOf(answer))[0]).toBe('UNSUPPORTED');
      return answer;
    };
    const deleteManifest = async (server: RunningServer) => {
      const answer = await deleteAt(server, `/v2/${NAME}/manifests/${manifests[3].digest}`);
      expect([202, 404]).toContain(answer.status);
      return answer;
    };

    it('"Setup": the tag lists', async () => {
      const server = await start();
      expect(await setUp(server)).toBe(1);
    });

    it('DELETE of a tag: 202, or 400 UNSUPPORTED or 405 where tag deletion is disallowed', async () => {
      const server = await start();
      await setUp(server);
      const answer = await deleteTag(server);
      if (answer.status === 202)
        expect((await call(server, `/v2/${NAME}/manifests/${tag}`)).status).toBe(404);
    });

    it('DELETE of the manifest by digest after its tag: 202, or 404 if the tag delete took it', async () => {
      const server = await start();
      await setUp(server);
      await deleteTag(server);
      await deleteManifest(server);
    });

    it('GET of the deleted manifest: 404, or 200 where deletion is disallowed', async () => {
      const server = await start();
      await setUp(server);
      await deleteTag(server);
      await deleteManifest(server);
      const answer = await call(server, `/v2/${NAME}/manifests/${manifests[3].digest}`);
      expect([404, 200]).toContain(answer.status);
    });

    it('the tag list shows the deletion', async () => {
      const server = await start();
      const before = await setUp(server);
      await deleteTag(server);
      await deleteManifest(server);
      const answer = await call(server, `/v2/${NAME}/tags/list`);
      expect(answer.status).toBe(200);
      const { tags } = (await answer.json()) as { tags: string[] };
      expect(tags.length).toBeLessThan(before);
    });

    it('DELETE of blobs: 202, 404 or 405; then GET of a deleted blob is 404', async () => {
      const server = await start();
      await setUp(server);
      await deleteTag(server);
      await deleteManifest(server);
      let deleteAllowed = true;
      for (const blob of [configs[3], layer]) {
        const answer = await deleteAt(server, `/v2/${NAME}/blobs/${blob.digest}`);
        expect([202, 404, 405]).toContain(answer.status);
        deleteAllowed = answer.status !== 405;
      }
      const got = await call(server, `/v2/${NAME}/blobs/${configs[3].digest}`);
      // The suite reads a 405 for the layer as "blob deletion is disallowed".
      expect(got.status).toBe(deleteAllowed ? 404 : 200);
    });
  });
});
