{{ stg_werkzoekenden('gemeente') }}
