import { duplicate, invalidValue, notFoundValue, notSupported, required } from './field-errors.ts';
import { dns1123Label, envVarName } from './name-rules.ts';
import type { FieldError } from './status.ts';

type Json = Record<string, unknown>;

const list = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);
const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];
const ENV_SOURCES = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'];

function validateVolumes(volumes: Json[], path: string): { errors: FieldError[]; names: Set<string> } {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  volumes.forEach((volume, i) => {
    const field = `${path}[${i}]`;
    const name = volume.name as string | undefined;
    if (!name) errors.push(required(`${field}.name`));
    else {
      for (const message of dns1123Label(name)) errors.push(invalidValue(`${field}.name`, name, message));
      if (names.has(name)) errors.push(duplicate(`${field}.name`, name));
      names.add(name);
    }
    const sources = VOLUME_SOURCES.filter((source) => volume[source] !== undefined && volume[source] !== null);
    if (sources.length === 0) errors.push(required(field, 'must specify a volume type'));
    else if (sources.length > 1) {
      errors.push(invalidValue(`${field}.${sources[1]}`, '', 'may not specify more than 1 volume type'));
    }
    for (const ref of ['configMap', 'secret'] as const) {
      const source = volume[ref] as Json | undefined;
      const key = ref === 'configMap' ? 'name' : 'secretName';
      if (source && !source[key]) errors.push(required(`${field}.${ref}.${key}`));
    }
  });
  return { errors, names };
}

function validateEnv(env: Json[], path: string): FieldError[] {
  const errors: FieldError[] = [];
  env.forEach((entry, i) => {
    const field = `${path}[${i}]`;
    const name = entry.name as string | undefined;
    if (!name) errors.push(required(`${field}.name`));
    else for (const message of envVarName(name)) errors.push(invalidValue(`${field}.name`, name, message));
    const from = entry.valueFrom as Json | undefined;
    if (!from) return;
    const sources = ENV_SOURCES.filter((source) => from[source] !== undefined && from[source] !== null);
    if (sources.length === 0) {
      errors.push(
        invalidValue(
          `${field}.valueFrom`,
          '',
          'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
        ),
      );
    } else if (sources.length > 1) {
      errors.push(invalidValue(`${field}.valueFrom`, '', 'may not have more than one field specified at a time'));
    }
    if (entry.value) {
      errors.push(invalidValue(`${field}.valueFrom`, '', 'may not be specified when `value` is not empty'));
    }
    for (const ref of ['secretKeyRef', 'configMapKeyRef'] as const) {
      const source = from[ref] as Json | undefined;
      if (!source) continue;
      if (!source.key) errors.push(required(`${field}.valueFrom.${ref}.key`));
      if (!source.name) errors.push(required(`${field}.valueFrom.${ref}.name`));
    }
  });
  return errors;
}

function validateContainer(container: Json, field: string, volumes: Set<string>, init: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (!container.image) errors.push(required(`${field}.image`));
  errors.push(...validateEnv(list(container.env), `${field}.env`));
  const mountPaths = new Set<string>();
  list(container.volumeMounts).forEach((mount, i) => {
    const mountField = `${field}.volumeMounts[${i}]`;
    const name = mount.name as string | undefined;
    if (!name) errors.push(required(`${mountField}.name`));
    else if (!volumes.has(name)) errors.push(notFoundValue(`${mountField}.name`, name));
    const mountPath = mount.mountPath as string | undefined;
    if (!mountPath) errors.push(required(`${mountField}.mountPath`));
    else if (mountPaths.has(mountPath))
      errors.push(invalidValue(`${mountField}.mountPath`, mountPath, 'must be unique'));
    else mountPaths.add(mountPath);
  });
  list(container.ports).forEach((port, i) => {
    const value = port.containerPort as number | undefined;
    if (value === undefined) errors.push(required(`${field}.ports[${i}].containerPort`));
    else if (value < 1 || value > 65535) {
      errors.push(invalidValue(`${field}.ports[${i}].containerPort`, value, 'must be between 1 and 65535, inclusive'));
    }
  });
  if (container.restartPolicy !== undefined) {
    // Only init containers may set it, and only to Always: that makes them native sidecars.
    if (init && container.restartPolicy !== 'Always') {
      errors.push(notSupported(`${field}.restartPolicy`, container.restartPolicy, ['Always']));
    } else if (!init) {
      errors.push(
        invalidValue(`${field}.restartPolicy`, container.restartPolicy, 'may not be set for non-init containers'),
      );
    }
  }
  return errors;
}

/** ValidatePodSpec, the parts a Job's pod template exercises. `path` is e.g. `spec.template.spec`. */
export function validatePodSpec(podSpec: Json, path: string): FieldError[] {
  const { errors, names: volumes } = validateVolumes(list(podSpec.volumes), `${path}.volumes`);
  const containers = list(podSpec.containers);
  if (containers.length === 0) errors.push(required(`${path}.containers`));
  const names = new Set<string>();
  const groups = [
    ['initContainers', list(podSpec.initContainers)],
    ['containers', containers],
  ] as const;
  for (const [key, group] of groups) {
    group.forEach((container, i) => {
      const field = `${path}.${key}[${i}]`;
      const name = container.name as string | undefined;
      if (!name) errors.push(required(`${field}.name`));
      else {
        for (const message of dns1123Label(name)) errors.push(invalidValue(`${field}.name`, name, message));
        if (names.has(name)) errors.push(duplicate(`${field}.name`, name));
        names.add(name);
      }
      errors.push(...validateContainer(container, field, volumes, key === 'initContainers'));
    });
  }
  const restartPolicy = podSpec.restartPolicy;
  if (restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(String(restartPolicy))) {
    errors.push(notSupported(`${path}.restartPolicy`, restartPolicy, ['Always', 'OnFailure', 'Never']));
  }
  return errors;
}
