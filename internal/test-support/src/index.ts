// Small images for tests: layers whose bytes are short strings (assembleImage never reads
// layer bytes, so they need not be real tar+gzip), and stream collectors.
import { writeTar } from '@stevedore/archive';
import { collectBytes, computeDigest } from '@stevedore/digest';
import {
  assembleImage,
  createLayer,
  type Image,
  type Layer,
  memoryBlobSink,
  memoryBlobSource,
} from '@stevedore/image';
import { type ImageConfig, MediaTypes } from '@stevedore/manifest';

const encoder = new TextEncoder();

/** A minimal config for test images. */
export const testConfig: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [] },
};

/**
 * A layer whose digest is that of `text`; its blob source serves `bytes` (the same text by
 * default; something else to make a blob that is not what its descriptor says).
 */
export async function fakeLayer(text: string, bytes: Uint8Array = encoder.encode(text)): Promise<Layer> {
  const digest = (await computeDigest(encoder.encode(text))).toString();
  return {
    descriptor: { mediaType: MediaTypes.OciLayerGzip, digest, size: bytes.byteLength },
    diffId: (await computeDigest(encoder.encode(`diff ${text}`))).toString(),
    blobs: memoryBlobSource({ [digest]: bytes }),
  };
}

/** A one-layer image for an architecture. */
export async function fakeImage(text: string, architecture = 'amd64'): Promise<Image> {
  return assembleImage({ ...testConfig, architecture }, [await fakeLayer(text)]);
}

/** A one-layer image whose layer blob is not what its descriptor says. */
export async function tamperedImage(): Promise<{ image: Image; layer: Layer }> {
  const layer = await fakeLayer('good', encoder.encode('evil'));
  return { image: await assembleImage(testConfig, [layer]), layer };
}

/** A stream read whole, as text. */
export async function readText(stream: AsyncIterable<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(await collectBytes(stream));
}

/** A real one-layer image (a gzip tar holding one file named `name`), for a platform. */
export async function smallImage(name: string, architecture = 'amd64', variant?: string): Promise<Image> {
  const content = encoder.encode(name);
  const layer = await createLayer(writeTar([{ name, type: 'file', content }]), { sink: memoryBlobSink });
  return assembleImage({ ...testConfig, architecture, ...(variant === undefined ? {} : { variant }) }, [
    layer,
  ]);
}
