import { TemplateId } from '@anton/contracts';
import type { JobSettings } from '../src/render-job.ts';

/** Job settings' images with one image for the proxy and every template's agent. */
export const sameImageEverywhere = (image: string): JobSettings['images'] => ({
  runner: image,
  agents: Object.fromEntries(TemplateId.options.map((t) => [t, image])) as JobSettings['images']['agents'],
});
