export { StateCorruptError, StateLockedError, StateVersionError } from './errors';
export { DEFAULT_STATE_FOLDER, resetStateFolder, stateLayout } from './stateFolder';
export {
    type OpenStateStoreOptions,
    type RecordTable,
    STATE_DATABASE_FILE,
    type StateComponent,
    type StateMigration,
    StateStore,
    type SynchronousLevel,
} from './stateStore';
